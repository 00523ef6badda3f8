"""L-BFGS on a Fourier-preconditioned parameterisation: x = clip(init + irfft2(Z · (f/f_max)^-alpha)).

    python benchmarks/fourier_precond.py SIZE ALPHA N [penalty=1e7] [corr=50] [init=histogram]

alpha > 0 boosts low spatial frequencies (the preconditioner of Lucid-style feature visualisation),
alpha < 0 boosts high ones, alpha = 0 is the pixel basis without bounds (clip inside + quadratic penalty).
Prints the best objective every 25 evaluations; the trace goes to results/explore2/a<ALPHA>_<SIZE>.json.
"""
import os, sys, time, json
os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import numpy as np, tensorflow as tf
from _common import Problem, initial_image
from scipy.optimize import minimize

size = int(sys.argv[1]); alpha = float(sys.argv[2]); n = int(sys.argv[3])
kw = dict(a.split("=", 1) for a in sys.argv[4:])
penalty = float(kw.get("penalty", "1e7")); corr = int(kw.get("corr", "50")); fmin_px = float(kw.get("fmin", "1"))
tag = kw.get("tag", f"a{alpha}")
p = Problem(size)
obj = p.objective(p.shape)
H, W = p.shape
img0 = initial_image(p, p.shape, kw.get("init", "histogram"))
fy = np.fft.fftfreq(H)[:, None]; fx = np.fft.rfftfreq(W)[None, :]
f = np.sqrt(fx**2 + fy**2)
f = np.maximum(f, fmin_px / max(H, W))
scale = (f / f.max()) ** (-alpha)
scale_t = tf.constant(scale[None].astype(np.float32))  # (1, H, Wr)
Wr = W // 2 + 1
init_t = tf.constant(img0[None])
shape_z = (2, 3, H, Wr)

@tf.function
def vg(z):
    with tf.GradientTape() as tape:
        tape.watch(z)
        zz = tf.reshape(z, shape_z)
        spec = tf.complex(zz[0] * scale_t, zz[1] * scale_t)  # (3, H, Wr)
        delta = tf.signal.irfft2d(spec, fft_length=[H, W]) * (H * W) ** 0.5
        raw = init_t + tf.transpose(delta, (1, 2, 0))[None]
        img = tf.clip_by_value(raw, 0.0, 1.0)
        parts = obj.parts(img)
        total = parts["total"] + penalty * tf.reduce_mean(tf.square(raw - img))
    return parts["total"], total, tape.gradient(total, z), img

st = {"k": 0, "best": 1e30, "t0": time.perf_counter(), "trace": []}
def fun(z):
    v, total, g, img = vg(tf.constant(z, tf.float32))
    st["k"] += 1
    v = float(v)
    st["best"] = min(st["best"], v)
    st["trace"].append(v)
    if st["k"] % 25 == 0:
        print(f"{tag} {st['k']} t={time.perf_counter()-st['t0']:.0f} best {st['best']:.4g}", flush=True)
    return float(total), g.numpy().astype(np.float64)
z0 = np.zeros(int(np.prod(shape_z)))
minimize(fun, z0, jac=True, method="L-BFGS-B", options={"maxiter": n, "maxfun": n, "maxcor": corr, "ftol": 0, "gtol": 0})
json.dump(st["trace"], open(os.path.join(os.path.dirname(__file__), "results", "explore2", f"fourier_{tag}_{size}.json"), "w"))
