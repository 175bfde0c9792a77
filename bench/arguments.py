"""What the benchmarks' command lines share: value types (argparse ``type=``) and the progress
printer that ``--quiet`` silences."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


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


def progress(quiet: bool) -> Callable[[str], None]:
    """Print a progress line on standard error, flushed at once; nothing when ``quiet``."""

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return say
