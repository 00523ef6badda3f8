"""Reference trajectory of the TF-tutorial recipe (Adam, 1000 steps) for exploration (cost = steps)."""
import json, sys, time
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import Problem
from nst_lib.optimize import run_adam

size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
p = Problem(size)
hist = []
r = run_adam(p.value_and_grad(p.shape), p.content_full, steps=steps, learning_rate=0.02, beta_1=0.99, epsilon=0.1,
             history=hist)
json.dump({"size": size, "shape": p.shape, "cost": [h["iteration"] for h in hist], "wall": [h["elapsed"] for h in hist],
           "value": [h["total"] for h in hist]}, open(f"benchmarks/results/explore/adam_ref_{size}.json", "w"))
