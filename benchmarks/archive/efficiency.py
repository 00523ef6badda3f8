"""Per-step efficiency of one VGG value-and-gradient against the matmul peak, measured *interleaved*
(matmul, VGG step, matmul, VGG step, …) so that a changing CPU load affects both alike.

    python benchmarks/efficiency.py [SIZE] [PAIRS]

FLOPs are analytic (2·H·W·9·Cin·Cout per conv up to block5_conv2); reported ×3 (the issue's convention)
and ×2 (what is really computed: the frozen network needs no filter gradients).
"""
import json, sys, time
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import tensorflow as tf
from _common import Problem, vgg_flops

size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
pairs = int(sys.argv[2]) if len(sys.argv) > 2 else 8
p = Problem(size)
vg = p.value_and_grad(p.shape)
x = tf.constant(p.content_full[None])
n = 2048
a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
mm = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
mm(a, b).numpy(); vg(x)[1].numpy()
mm_t, vg_t = [], []
for _ in range(pairs):
    t = time.perf_counter(); mm(a, b).numpy(); mm_t.append(time.perf_counter() - t)
    t = time.perf_counter(); vg(x)[1].numpy(); vg_t.append(time.perf_counter() - t)
f3 = vgg_flops(*p.shape, p.extractor.backbone)
peak = 2 * n**3 / min(mm_t)
step = min(vg_t)
ratios = [(f3 * 2 / 3 / v) / (2 * n**3 / m) for m, v in zip(mm_t, vg_t)]
out = dict(size=size, shape=p.shape, backbone=p.extractor.backbone, peak_gflops=peak / 1e9, best_step_s=step,
           median_step_s=sorted(vg_t)[len(vg_t) // 2], gflop_per_step_x3=f3 / 1e9,
           efficiency_x3=f3 / step / peak, efficiency_x2=f3 * 2 / 3 / step / peak,
           pairwise_efficiency_x2_median=sorted(ratios)[len(ratios) // 2], mm_times=mm_t, vg_times=vg_t,
           loadavg=__import__("os").getloadavg())
print(json.dumps({k: v for k, v in out.items() if k not in ("mm_times", "vg_times")}, indent=1))
json.dump(out, open(f"benchmarks/results/efficiency_{size}.json", "w"), indent=1)
