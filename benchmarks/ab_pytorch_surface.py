"""Paired in-process A/B of the MLP training step (the PyTorch-named surface): deepgrad as it is
(B) against its two hot-path changes undone (A: leaf gradients stored without the ndarray check,
Tensor.size a plain int). Interleaved rounds, median of per-round ratios."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_mlp_step as bench  # noqa: E402

from deepgrad import engine  # noqa: E402

tensor_module = sys.modules["deepgrad.tensor"]

step, _ = bench.deepgrad_step()
array_new = engine._array
size_new = tensor_module.Tensor.size
size_old = property(lambda self: self.data.size)


def variant(old):
    engine._array = (lambda g: g) if old else array_new
    tensor_module.Tensor.size = size_old if old else size_new


ratios = []
for r in range(int(sys.argv[1]) if len(sys.argv) > 1 else 15):
    times = {}
    for old in ((False, True) if r % 2 else (True, False)):
        variant(old)
        for _ in range(3):
            step()
        start = time.perf_counter()
        for _ in range(20):
            step()
        times[old] = (time.perf_counter() - start) / 20
    ratios.append(times[False] / times[True])
    print(f"round {r}: new {times[False]*1e3:.2f} ms, old {times[True]*1e3:.2f} ms, "
          f"ratio {ratios[-1]:.3f}", flush=True)
print(f"median new/old over {len(ratios)} paired rounds: {statistics.median(ratios):.4f}")
