"""What the benchmarks share: their command line and how they sum up timings."""

import argparse
import statistics


def parse_arguments(doc, runs=9):
    """--runs N (default runs), with the first line of the benchmark's docstring as the description."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument('--runs', type=int, default=runs, help='how many times each measurement runs (default %d)' % runs)
    return parser.parse_args()


def median_ms(values):
    """The median of timings in seconds, in milliseconds with one decimal."""
    return round(statistics.median(values) * 1000, 1)
