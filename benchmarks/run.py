"""`make bench`: runs every benchmark in this folder and prints times and ratios."""

from __future__ import annotations

import importlib
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

BENCHMARKS = ["bench_mlp_step", "bench_mlp_epoch", "bench_conv", "bench_cnn"]


def main(names=None):
    import numpy as np

    print(f"deepgrad benchmarks: Python {platform.python_version()}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPU cores")
    for name in names or BENCHMARKS:
        if not os.path.exists(os.path.join(HERE, name + ".py")):
            print(f"\n(skipping {name}: not present)")
            continue
        importlib.import_module(name).main()


if __name__ == "__main__":
    main(sys.argv[1:])
