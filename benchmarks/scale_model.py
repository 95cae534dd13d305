"""The scale-out model of docs/distributed.md: step time and efficiency of synchronous data
parallelism on 2-64 ranks over a 10 Gb/s and a 100 Gb/s network, from measured inputs.

    compute per step on one rank     T_c(b) = t0 + c b          (b: the rank's batch)
    ring Allreduce of S bytes        T_ar(N) = 2 (N - 1) k alpha + 2 (N - 1) / N x S / beta
    step (no overlap)                T(N) = T_c(b) + T_ar(N)

with k fused buffers (each pays the latency terms), alpha the per-message latency of one hop
and beta the link bandwidth. Strong scaling keeps the global batch B (b = B / N); efficiency
T_c(B) / (N T(N)). Weak scaling keeps b (global batch b N); efficiency T_c(b) / T(N). The
traffic dominates where T_ar(N) > T_c(b).

    python benchmarks/scale_model.py --t0 MS --c MS_PER_SAMPLE --bytes S --buckets K
"""

from __future__ import annotations

import argparse

NETWORKS = {"10 Gb/s": (1.25e9, 30e-6), "100 Gb/s": (12.5e9, 5e-6)}   # (beta B/s, alpha s)
RANKS = (1, 2, 4, 8, 16, 32, 64)


def allreduce_seconds(ranks, size, buckets, beta, alpha):
    if ranks == 1:
        return 0.0
    return 2 * (ranks - 1) * buckets * alpha + 2 * (ranks - 1) / ranks * size / beta


def table(t0, c, size, buckets, batch, strong):
    rows = []
    for name, (beta, alpha) in NETWORKS.items():
        for ranks in RANKS:
            local = batch / ranks if strong else batch
            compute = t0 + c * local
            traffic = allreduce_seconds(ranks, size, buckets, beta, alpha)
            step = compute + traffic
            base = t0 + c * batch
            efficiency = base / (ranks * step) if strong else base / step
            rows.append((name, ranks, local, compute, traffic, step, efficiency))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="model")
    parser.add_argument("--t0", type=float, required=True, help="fixed ms per step")
    parser.add_argument("--c", type=float, required=True, help="ms per sample")
    parser.add_argument("--bytes", type=float, required=True, help="gradient bytes per step")
    parser.add_argument("--buckets", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)
    t0, c = args.t0 / 1e3, args.c / 1e3
    for strong in (True, False):
        kind = (f"strong scaling, global batch {args.batch}" if strong
                else f"weak scaling, {args.batch} samples per rank")
        print(f"\n{args.name}, {kind}: {args.bytes / 1e6:.2f} MB of gradients in "
              f"{args.buckets} buffer(s), T_c(b) = {args.t0:.2f} ms + {args.c:.3f} ms x b")
        print("| network | ranks | batch/rank | compute ms | allreduce ms | step ms | "
              "efficiency |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, ranks, local, compute, traffic, step, efficiency in table(
                t0, c, args.bytes, args.buckets, args.batch, strong):
            flag = " (traffic > compute)" if traffic > compute else ""
            print(f"| {name} | {ranks} | {local:g} | {1e3 * compute:.2f} | "
                  f"{1e3 * traffic:.2f} | {1e3 * step:.2f} | {100 * efficiency:.0f}%{flag} |")


if __name__ == "__main__":
    main()
