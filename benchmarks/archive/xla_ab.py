"""Does XLA (jit_compile=True in make_value_and_grad) help on this CPU? Interleaved A/B timing (fair under load).

    python benchmarks/xla_ab.py [SIZE] [PAIRS]
"""
import json, sys, time
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import tensorflow as tf
from _common import Problem
from nst_lib.optimize import make_value_and_grad

size = int(sys.argv[1]) if len(sys.argv) > 1 else 128
pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
p = Problem(size)
obj = p.objective(p.shape)
fns = {"graph": make_value_and_grad(obj, jit_compile=False), "xla": make_value_and_grad(obj, jit_compile=True)}
x = tf.constant(p.content_full[None])
first = {}
for k, f in fns.items():
    t = time.perf_counter(); f(x)[1].numpy(); first[k] = time.perf_counter() - t
times = {k: [] for k in fns}
vals = {}
for _ in range(pairs):
    for k, f in fns.items():
        t = time.perf_counter(); parts, g = f(x); g.numpy(); times[k].append(time.perf_counter() - t)
        vals[k] = float(parts["total"])
med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
out = {"size": size, "shape": p.shape, "first_call_s": first, "median_s": med, "xla_speedup": med["graph"] / med["xla"],
       "values": vals, "times": times}
print(json.dumps({k: out[k] for k in ("size", "first_call_s", "median_s", "xla_speedup", "values")}))
json.dump(out, open(f"benchmarks/results/xla_ab_{size}.json", "w"), indent=1)
