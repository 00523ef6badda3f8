"""L-BFGS-B for N1 evaluations, then Adam for N2 steps (N1 = 0: Adam alone from the recoloured content).

    python benchmarks/hybrid.py SIZE N1 N2 LR [BETA_1=0.99]

Prints the best objective every 50 Adam steps (cost = evaluations + steps). Results: results/explore2/.
"""
import os, sys
os.environ.setdefault("NST_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import numpy as np, tensorflow as tf
from _common import Problem, initial_image
from scipy.optimize import minimize
size, n1, n2, lr = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
b1 = float(sys.argv[5]) if len(sys.argv) > 5 else 0.99
p = Problem(size); vg = p.value_and_grad(p.shape)
img = initial_image(p, p.shape, "histogram")
best = [1e30]
shp = (1, *p.shape, 3)
def fun(z):
    parts, g = vg(tf.constant(z.reshape(shp).astype(np.float32)))
    best[0] = min(best[0], float(parts["total"]))
    return float(parts["total"]), g.numpy().astype(np.float64).ravel()
if n1:
    r = minimize(fun, img.astype(np.float64).ravel(), jac=True, method="L-BFGS-B", bounds=[(0, 1)] * img.size,
                 options={"maxiter": n1, "maxfun": n1, "maxcor": 50, "ftol": 0, "gtol": 0})
    img = r.x.reshape(p.shape + (3,)).astype(np.float32)
print(f"after lbfgs {n1}: {best[0]:.4g}", flush=True)
x = tf.Variable(img[None]); opt = tf.keras.optimizers.Adam(lr, beta_1=b1, epsilon=0.1)
for i in range(1, n2 + 1):
    parts, g = vg(x); best[0] = min(best[0], float(parts["total"]))
    opt.apply_gradients([(g, x)]); x.assign(tf.clip_by_value(x, 0, 1))
    if i % 50 == 0: print(f"  adam {i} (cost {n1+i}) best {best[0]:.4g}", flush=True)
