"""Could a Winograd F(4,3) convolution make one VGG step cheaper than TensorFlow's conv2d on this CPU?

    python benchmarks/winograd.py

F(4,3) (Lavin & Gray 2016) needs 2.25 multiplications per output instead of 9 for a 3×3 convolution, so the
batched matmul at its heart has 4× fewer FLOPs. This script checks that our TensorFlow implementation gives
the same values and input gradients as tf.nn.conv2d, then times forward + input gradient for the VGG layer
shapes of a 256 px image, and times the batched matmul alone against one flat matmul of the same FLOPs.
Result on the 2-core machine (results/explore2/winograd.txt): 0.2–0.6× the speed of conv2d — TensorFlow's
CPU batched matmul with 36 small batches reaches 38–110 GFLOP/s against 136 for one large matmul, and the
tile transforms are memory-bound, so the 4× fewer FLOPs do not turn into time. Not used.
"""
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

BT = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
               [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], np.float32)
G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
              [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], np.float32)
AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], np.float32)


def transform_filter(k: np.ndarray) -> np.ndarray:
    """(3, 3, C, K) kernel → (36, C, K) Winograd-domain filter G k Gᵀ."""
    return np.einsum("ij,jkcn,lk->ilcn", G, k, G).reshape(36, k.shape[2], k.shape[3]).astype(np.float32)


def winograd_conv(x, u, bias):
    """3×3 'SAME' convolution of x (1, H, W, C) with the transformed filter u (36, C, K)."""
    _, h, w, c = x.shape
    k = u.shape[-1]
    th, tw = -(-h // 4), -(-w // 4)
    xp = tf.pad(x[0], [[1, 4 * th + 5 - h], [1, 4 * tw + 5 - w], [0, 0]])  # (4th+6, 4tw+6, C)
    r = tf.reshape(xp[: 4 * th + 4], (th + 1, 4, 4 * tw + 6, c))  # 6-row windows, stride 4, by reshapes
    r = tf.concat([r[:-1], r[1:, :2]], axis=1)
    t = tf.reshape(r[:, :, : 4 * tw + 4], (th, 6, tw + 1, 4, c))
    t = tf.concat([t[:, :, :-1], t[:, :, 1:, :2]], axis=3)  # (th, 6, tw, 6, C) tiles
    v = tf.einsum("lk,tiskc->iltsc", BT, tf.einsum("ij,tjskc->tiskc", BT, t))
    m = tf.matmul(tf.reshape(v, (36, th * tw, c)), u)  # the 4×-fewer-FLOPs part
    m = tf.reshape(m, (6, 6, th, tw, k))
    y = tf.einsum("ml,iltsk->tismk", AT, tf.einsum("ij,jltsk->iltsk", AT, m))
    return tf.reshape(y, (4 * th, 4 * tw, k))[:h, :w][None] + bias


def _median_ms(f, *args, n=10):
    f(*args)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = f(*args)
        (out[0] if isinstance(out, (list, tuple)) else out).numpy()
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def _value_and_input_grad(conv):
    @tf.function
    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.nn.relu(conv(x)) ** 2)
        return loss, tape.gradient(loss, x)

    return run


def main():
    rng = np.random.default_rng(0)
    for side, c, k in [(256, 64, 64), (128, 128, 128), (64, 256, 256), (32, 512, 512), (16, 512, 512)]:
        x = tf.constant(rng.standard_normal((1, side, side, c)).astype(np.float32))
        kernel = (rng.standard_normal((3, 3, c, k)) / np.sqrt(9 * c)).astype(np.float32)
        bias = tf.constant(rng.standard_normal(k).astype(np.float32))
        u, kt = tf.constant(transform_filter(kernel)), tf.constant(kernel)
        direct = _value_and_input_grad(lambda t: tf.nn.conv2d(t, kt, 1, "SAME") + bias)
        wino = _value_and_input_grad(lambda t: winograd_conv(t, u, bias))
        (l1, g1), (l2, g2) = direct(x), wino(x)
        rel = float(tf.reduce_max(tf.abs(g1 - g2)) / tf.reduce_max(tf.abs(g1)))
        td, tw = _median_ms(direct, x), _median_ms(wino, x)
        print(f"{side}×{side}, {c}→{k}: input-gradient rel. error {rel:.1e}; conv2d {td:.1f} ms, "
              f"Winograd {tw:.1f} ms → {td / tw:.2f}× the speed", flush=True)
    for tiles, c, k in [(64, 512, 512), (256, 256, 256), (1024, 128, 128), (4096, 64, 64)]:
        v, u = tf.random.normal((36, tiles, c)), tf.random.normal((36, c, k))
        a, b = tf.random.normal((36 * tiles, c)), tf.random.normal((c, k))
        flops = 2 * 36 * tiles * c * k
        tb = _median_ms(tf.function(lambda p, q: tf.matmul(p, q)), v, u)
        tf_ = _median_ms(tf.function(lambda p, q: tf.matmul(p, q)), a, b)
        print(f"batched matmul 36×({tiles}×{c})·({c}×{k}): {flops / tb / 1e6:.0f} GFLOP/s; "
              f"one flat matmul of the same FLOPs: {flops / tf_ / 1e6:.0f} GFLOP/s")
    sq = tf.random.normal((2048, 2048))
    print(f"matmul peak (2048²): {2 * 2048**3 / _median_ms(tf.function(lambda p: tf.matmul(p, p)), sq) / 1e6:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
