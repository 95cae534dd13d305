"""Timing helpers shared by the benchmarks: interleaved rounds, paired ratios, torch threads."""

from __future__ import annotations

import os
import statistics
import time


def rotated(items: list, round_number: int) -> list:
    """items in the order of round `round_number`: rotated by one place per round, so each runs
    first, second, ... equally often and the aftermath of the previous block (a library's
    threads, caches) burdens none of them."""
    shift = round_number % len(items)
    return items[shift:] + items[:shift]


def sample_rounds(functions: dict, rounds: int, number: int, warmup: int = 5,
                  pause: float = 0.3) -> dict:
    """Seconds per call of each function in each of `rounds` rounds. Each round times every
    function once (`number` calls after `warmup`), so a slow spell of the machine hits all of
    them alike; the order rotates from round to round. Before each block the process sleeps
    `pause` seconds: BLAS and OpenMP worker threads spin for a while after their last call,
    and a neighbour's spinning threads would otherwise steal the cores from the block timed."""
    samples = {name: [] for name in functions}
    names = list(functions)
    for r in range(rounds):
        for name in rotated(names, r):
            fn = functions[name]
            time.sleep(pause)
            for _ in range(warmup):
                fn()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return samples


def paired_ratios(samples: dict, numerator: str, denominator: str) -> float:
    """Median over rounds of the per-round ratio numerator / denominator.

    The two blocks of one round run seconds apart, so a ratio taken within a round cancels
    most of the machine's slow and fast spells; on a shared VM it varies far less from run to
    run than the ratio of the two medians."""
    return statistics.median(a / b for a, b in zip(samples[numerator], samples[denominator]))


def import_torch():
    """PyTorch (a test/benchmark dependency only), using as many threads as NumPy's BLAS."""
    try:
        import torch
    except ImportError:
        return None
    # OPENBLAS_NUM_THREADS=1 make bench compares single-threaded BLAS with single-threaded torch
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(int(threads) if threads else (os.cpu_count() or 1))
    return torch


def report(title: str, rows: list[tuple[str, float]], baseline: str | None = None) -> dict:
    """Print a small table of times (ms) and ratios to `baseline`; return the numbers."""
    print(f"\n{title}")
    base = dict(rows).get(baseline)
    for name, seconds in rows:
        ratio = f"  {seconds / base:5.2f}x {baseline}" if base else ""
        print(f"  {name:<28} {seconds * 1e3:9.3f} ms{ratio}")
    return {name: seconds for name, seconds in rows}
