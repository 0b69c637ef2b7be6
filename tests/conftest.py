"""Fixtures for the whole suite: the bundled rules, a fresh database per test, the service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from scoring.db import upgrade
from scoring.rules import RULES_ENV, Rules, default_rules_text, parse_rules
from scoring.service import Service
from tests.helpers import memory_engine


@pytest.fixture(autouse=True)
def _no_rules_file_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's KAOHE_RULES_FILE must not change what the tests expect."""
    monkeypatch.delenv(RULES_ENV, raising=False)


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The bundled rules file (the bureau's plan, read as reading.md says)."""
    return parse_rules(default_rules_text(), "default.toml")


@pytest.fixture
def engine() -> Iterator[Engine]:
    """A fresh in-memory database with the schema built by the migrations."""
    eng = memory_engine()
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the fresh database; tests commit when they need the service to see rows."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def service(engine: Engine, rules: Rules) -> Service:
    """The scoring core's verbs over the fresh database and the bundled rules."""
    return Service(engine, rules)


# The bureau for bot tests: ``bureau`` in process (PTB's offline pattern), ``live_bureau``
# end to end (the fake Bot API server over HTTP, the real Application polling it).
from tests.harness import live_bureau  # noqa: E402, F401
from tests.offline import bureau, seeded_db  # noqa: E402, F401
