"""Imports point inward: scoring ← usecases ← templates ← messenger adapters ← bot.

Every module of every product package is read (lazy imports inside functions included);
an import against that direction, between two messenger adapters, or of a messenger's
library outside its adapter fails the test, naming the module and the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# package → its layer; a package may import packages of a lower layer, and itself
LAYERS = {
    "scoring": 0,
    "usecases": 1,
    "templates": 2,
    "handlers": 3,  # Telegram
    "dingtalk": 3,
    "wecom": 3,
    "bot": 4,
}
# third-party libraries a package must not import (a messenger's SDK stays in its adapter)
FORBIDDEN = {
    "scoring": {"telegram", "dingtalk_stream", "jinja2", "httpx", "aiohttp", "handlers", "bot"},
    "usecases": {"telegram", "dingtalk_stream", "jinja2", "httpx", "aiohttp"},
    "templates": {"telegram", "dingtalk_stream"},
    "handlers": {"dingtalk_stream"},
    "dingtalk": {"telegram"},
    "wecom": {"telegram", "dingtalk_stream"},
}
TEST_ONLY = {"fakes", "tests", "demo", "bench"}


def _modules() -> list[Path]:
    found = []
    for package in LAYERS:
        folder = ROOT / package
        if folder.is_dir():
            found.extend(sorted(folder.rglob("*.py")))
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level name) of every absolute import in a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name.split(".")[0]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def _problems(path: Path, package: str | None = None) -> list[str]:
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else Path(path.name)
    package = package or where.parts[0]
    layer = LAYERS[package]
    problems = []
    for line, name in _imports(path):
        if name in FORBIDDEN.get(package, set()):
            problems.append(f"{where}:{line} imports {name}")
        elif name in TEST_ONLY:
            problems.append(f"{where}:{line} imports test infrastructure {name}")
        elif name in LAYERS and name != package and LAYERS[name] >= layer:
            problems.append(f"{where}:{line} imports {name} (layer {LAYERS[name]} ≥ {layer})")
    return problems


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_inward(path: Path) -> None:
    assert _problems(path) == []


def test_the_walk_covers_every_package_and_catches_a_wrong_import(tmp_path: Path) -> None:
    walked = {p.relative_to(ROOT).parts[0] for p in _modules()}
    assert {"scoring", "usecases", "templates", "handlers", "bot"} <= walked
    assert len(_modules()) > 40
    bad = tmp_path / "probe.py"
    bad.write_text("def f() -> None:\n    from handlers import common\n", encoding="utf-8")
    assert _problems(bad, "usecases") == ["probe.py:2 imports handlers (layer 3 ≥ 1)"]
    bad.write_text("import telegram.ext\n", encoding="utf-8")
    assert _problems(bad, "scoring") == ["probe.py:1 imports telegram"]
