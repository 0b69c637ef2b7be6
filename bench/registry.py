"""The benchmarks by group, and what they share: the rules, the data set, the timer."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import Dataset, Spec, generate
from scoring.rules import Rules

Result = dict[str, Any]
Bench = Callable[["Context"], Iterator[Result]]

BENCHES: dict[str, Bench] = {}


def register(group: str) -> Callable[[Bench], Bench]:
    """Add a benchmark group: a function yielding one result (one JSON line) per benchmark."""

    def add(fn: Bench) -> Bench:
        if group in BENCHES:
            raise ValueError(f"benchmark group {group!r} registered twice")
        BENCHES[group] = fn
        return fn

    return add


@dataclass
class Context:
    """What every benchmark gets: the rules, repetitions, and one shared data set."""

    rules: Rules
    spec: Spec = field(default_factory=Spec)
    reps: int = 5
    keep: Path | None = None
    log: Callable[[str], None] = print
    _dataset: Dataset | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def dataset(self) -> Dataset:
        """The generated data set, made on first use and shared by all benchmarks."""
        if self._dataset is None:
            if self.keep is not None:
                path = self.keep
                if path.exists():
                    raise FileExistsError(f"{path} exists; give a new file for --keep")
            else:
                self._tmp = tempfile.TemporaryDirectory(prefix="kaohe-bench-")
                path = Path(self._tmp.name) / "bench.db"
            ds = generate(path, self.rules, self.spec)
            summary = ", ".join(f"{k} {v}" for k, v in ds.counts.items())
            self.log(f"generated {path} in {ds.seconds:.1f} s: {summary}")
            self._dataset = ds
        return self._dataset

    def close(self) -> None:
        """Remove the temporary data set (a --keep file stays)."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def best_of(fn: Callable[[], object], reps: int) -> float:
    """The fastest of reps timed calls (the caller warms up first)."""
    best = float("inf")
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best
