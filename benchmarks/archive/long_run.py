"""Long runs with the objective broken down by term (which layer's style term is left, pixels at the bounds).

    python benchmarks/long_run.py SIZE MODE N
    python benchmarks/long_run.py SIZE lbfgs_hist N RESTART   # L-BFGS memory dropped every RESTART evaluations
    MODE: adam (the tutorial recipe, N steps), adam:LR:BETA_1, or lbfgs_<init> (L-BFGS-B, 50 corrections, N evaluations),
    init: hist (content recoloured to the style's colours), content, style, noise, gray.

Prints a line every 50 evaluations (L-BFGS) or 100 steps (Adam): total, weighted content term, weighted
style term per layer, fraction of pixels at 0 or 1. Results of this session: results/explore2/*.log.
"""
import os, sys, time
os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import numpy as np, tensorflow as tf
from _common import Problem, initial_image
from scipy.optimize import minimize

size = int(sys.argv[1]); mode = sys.argv[2]; n = int(sys.argv[3])
restart = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # L-BFGS: drop the curvature memory every RESTART evaluations
p = Problem(size)
vg = p.value_and_grad(p.shape)
cw, sw = p.cfg.content_weight, p.cfg.style_weight
def report(tag, img):
    parts, _ = vg(tf.constant(img[None], tf.float32))
    d = {k: float(v) for k, v in parts.items()}
    s = {k.split("/")[1][:10]: sw * v for k, v in d.items() if k.startswith("style/")}
    atb = float(np.mean((img <= 1e-4) | (img >= 1 - 1e-4)))
    print(f"{tag} total {d['total']:.4g} content {cw*d['content']:.3g} " + " ".join(f"{k}={v:.3g}" for k, v in s.items()) + f" atbound {atb:.3f}", flush=True)
t0 = time.perf_counter()
if "style" in mode:
    from nst_lib.images import resize_to
    img0 = resize_to(p.style_full, *p.shape)
elif "noise" in mode:
    img0 = np.random.default_rng(0).uniform(0, 1, p.content_full.shape).astype(np.float32)
elif "gray" in mode:
    g = p.content_full.mean(-1, keepdims=True); img0 = np.repeat(0.5 + 0.2 * (g - g.mean()) / g.std(), 3, -1).clip(0, 1).astype(np.float32)
else:
    img0 = initial_image(p, p.shape, "histogram" if "hist" in mode else "content")
report("init", img0)
if mode.startswith("adam"):
    lr, beta_1 = (float(v) for v in (mode.split(":")[1:] or ["0.02", "0.99"]))
    x = tf.Variable(img0[None])
    opt = tf.keras.optimizers.Adam(lr, beta_1=beta_1, epsilon=0.1)
    for i in range(1, n + 1):
        parts, g = vg(x)
        opt.apply_gradients([(g, x)])
        x.assign(tf.clip_by_value(x, 0, 1))
        if i % 100 == 0:
            report(f"adam {i} t={time.perf_counter()-t0:.0f}", x.numpy()[0])
else:
    bounded = "unb" not in mode
    st = {"k": 0, "best": 1e30, "img": None}
    shp = (1, *p.shape, 3)
    def fun(z):
        img = z.reshape(shp).astype(np.float32)
        parts, g = vg(tf.constant(img))
        st["k"] += 1
        v = float(parts["total"])
        if v < st["best"]: st["best"], st["img"] = v, img[0]
        if st["k"] % 50 == 0:
            report(f"lbfgs {st['k']} t={time.perf_counter()-t0:.0f}", np.clip(st["img"], 0, 1))
        return v, g.numpy().astype(np.float64).ravel()
    x = img0.astype(np.float64).ravel()
    while st["k"] < n:
        chunk = min(restart or n, n - st["k"])
        r = minimize(fun, x, jac=True, method="L-BFGS-B", bounds=[(0, 1)] * img0.size if bounded else None,
                     options={"maxiter": chunk, "maxfun": chunk, "maxcor": 50, "ftol": 0, "gtol": 0})
        x = r.x
