"""python -m bench [GROUP ...] [--reps N] [--scale F] [--keep FILE] [--check]

Runs the named benchmark groups (all of them when none is named) on one generated
data set and prints one JSON object per benchmark on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# each module registers its group(s); they run in this order
import bench.bot
import bench.chat
import bench.cli
import bench.core
import bench.dingtalk
import bench.postgres  # noqa: F401
from bench.check import check_standings
from bench.data import Spec
from bench.registry import BENCHES, Context
from scoring.rules import load_rules


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; exit status 1 if --check finds a difference."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the scoring core on a generated district-sized data set.",
    )
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"one of: {', '.join(BENCHES)}")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions, best kept (5)")
    parser.add_argument("--scale", type=float, default=1.0, help="data set size factor (1)")
    parser.add_argument("--keep", type=Path, help="write the data set to this new file and keep it")
    parser.add_argument("--check", action="store_true", help="also check standings are exact")
    parser.add_argument("--rules", help="a rules file (default: the bundled plan)")
    args = parser.parse_args(argv)
    unknown = [g for g in args.groups if g not in BENCHES]
    if unknown:
        parser.error(f"unknown group {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    if args.reps < 1 or args.scale <= 0:
        parser.error("--reps must be at least 1 and --scale above 0")
    ctx = Context(
        rules=load_rules(args.rules),
        spec=Spec().scaled(args.scale),
        reps=args.reps,
        keep=args.keep,
        log=_log,
    )
    status = 0
    try:
        for group in args.groups or list(BENCHES):
            for result in BENCHES[group](ctx):
                print(json.dumps(result, ensure_ascii=False), flush=True)
        if args.check:
            result = check_standings(ctx)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            status = 0 if result["identical"] else 1
    finally:
        ctx.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
