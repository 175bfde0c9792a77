"""The command-line value types the benchmarks share (argparse ``type=``)."""

from __future__ import annotations

import argparse


def positive(value: str) -> int:
    number = int(value)  # int() takes "1_000" as well
    if number < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1 is expected (got {value})")
    return number


def not_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"a whole number of at least 0 is expected (got {value})")
    return number


def seconds(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"a positive number of seconds is expected (got {value})")
    return number
