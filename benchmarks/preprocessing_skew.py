"""Benchmark: the streaming training-vs-serving skew check against a per-feature KS loop.

    python benchmarks/preprocessing_skew.py [--rows 1000000] [--features 100]

Builds float32 training and serving arrays (the serving copy is shifted on a few
features), then times ``helpers.checks.preprocessing.check_serving_skew`` and a plain loop
of ``scipy.stats.ks_2samp`` over the same features, and prints wall time and peak memory
(tracemalloc, counting only what each method allocates beyond the input arrays) for each,
with their ratio. The skew check runs again on a quarter of the rows to show its memory
does not grow with the row count. Not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np


def measure(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def ks_loop(x, x_serve):
    from scipy.stats import ks_2samp

    return [ks_2samp(x[:, j], x_serve[:, j]).pvalue for j in range(x.shape[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-ks", action="store_true", help="time only the skew check")
    args = parser.parse_args()

    import helpers  # noqa: F401  (quiets TensorFlow's start-up logs)
    from helpers.checks.preprocessing import check_serving_skew

    rng = np.random.default_rng(args.seed)
    shape = (args.rows, args.features)
    x = rng.standard_normal(shape, dtype=np.float32)
    x_serve = rng.standard_normal(shape, dtype=np.float32)
    x_serve[:, :3] += 1.0  # three features drift by one standard deviation
    print(f"data: {args.rows:,} x {args.features} float32 rows for training and for serving "
          f"({x.nbytes / 2**20:,.0f} MiB each)")

    quarter = args.rows // 4
    small, t_small, m_small = measure(lambda: check_serving_skew(x[:quarter],
                                                                 x_serve[:quarter]))
    findings, t_check, m_check = measure(lambda: check_serving_skew(x, x_serve))
    flagged = findings[0].evidence["n_flagged"] if findings else 0
    print(f"skew check, {quarter:>9,} rows: {t_small:6.2f} s, peak {m_small:7.1f} MiB")
    print(f"skew check, {args.rows:>9,} rows: {t_check:6.2f} s, peak {m_check:7.1f} MiB "
          f"({flagged} of {args.features} features flagged)")
    print(f"memory, {args.rows:,} vs {quarter:,} rows: x{m_check / m_small:.2f} "
          f"(flat in the row count means about 1)")
    if args.skip_ks:
        return
    pvalues, t_ks, m_ks = measure(lambda: ks_loop(x, x_serve))
    ks_flagged = sum(p < 1e-6 for p in pvalues)
    print(f"ks_2samp loop, {args.rows:>9,} rows: {t_ks:6.2f} s, peak {m_ks:7.1f} MiB "
          f"({ks_flagged} of {args.features} features with p < 1e-6)")
    print(f"ratio ks_2samp loop / skew check: time x{t_ks / t_check:.1f}, "
          f"memory x{m_ks / m_check:.1f}")


if __name__ == "__main__":
    main()
