"""Run one candidate recipe and save its trace (objective vs cost in full-res evaluations).

    python benchmarks/explore.py SIZE NAME BUDGET key=value ...

Keys: iters=a,b,c (per scale, coarsest first; the last is capped by BUDGET), residual=0|1, init=content|histogram|
mean_std, param=pixel|laplacian|decorrelated, levels=N, level_gain=G, corrections=N, maxls=N, jit=0|1.
"""
import json, sys, time
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import Problem, multiscale

size, name, budget = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
kw = dict(a.split("=", 1) for a in sys.argv[4:])
iters = [int(x) for x in kw.pop("iters", "10000").split(",")]
opts = dict(residual=bool(int(kw.pop("residual", "0"))), init=kw.pop("init", "content"),
            param=kw.pop("param", "pixel"), levels=int(kw.pop("levels", "4")),
            level_gain=float(kw.pop("level_gain", "1")), corrections=int(kw.pop("corrections", "10")),
            maxls=int(kw.pop("maxls", "20")))
if "bounded" in kw:
    opts["bounded"] = bool(int(kw.pop("bounded")))
jit = bool(int(kw.pop("jit", "0")))
assert not kw, kw
p = Problem(size, jit_compile=jit)
t = time.perf_counter()
tr = multiscale(p, iters=iters, final_cost_limit=budget, **opts)
out = {"name": name, "size": size, "argv": sys.argv[4:], "cost": tr.cost, "wall": tr.wall, "value": tr.value,
       "total_wall": time.perf_counter() - t}
json.dump(out, open(f"benchmarks/results/explore/{name}_{size}.json", "w"))
import numpy as np
from nst_lib.images import save_image
save_image(tr.image, f"benchmarks/results/explore/{name}_{size}.png")
for c in (25, 50, 75, 100, 150, 200):
    print(name, "cost", c, "best", f"{tr.best_at(c):.4g}")
