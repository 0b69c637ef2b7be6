"""A duty is run by one process at a time: the claim, its release, and a dead run taken over."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from scoring import duties
from scoring.duties.runbook import LEASE
from tests.helpers import NOW


def test_a_claimed_duty_is_refused_to_another_process_until_released(session: Session) -> None:
    assert duties.claim_run(session, "notice:2026Q2", now=NOW, owner="a:1")
    assert not duties.claim_run(session, "notice:2026Q2", now=NOW, owner="b:2")
    assert duties.claim_run(session, "bulletin:2026H1", now=NOW, owner="b:2")  # another duty
    duties.release_run(session, "notice:2026Q2")
    assert duties.claim_run(session, "notice:2026Q2", now=NOW, owner="b:2")


def test_a_claim_left_by_a_process_that_died_is_taken_over_after_the_lease(
    session: Session,
) -> None:
    assert duties.claim_run(session, "notice:2026Q2", now=NOW, owner="a:1")
    assert not duties.claim_run(session, "notice:2026Q2", now=NOW + LEASE, owner="b:2")
    later = NOW + LEASE + timedelta(seconds=1)
    assert duties.claim_run(session, "notice:2026Q2", now=later, owner="b:2")
    assert not duties.claim_run(session, "notice:2026Q2", now=later, owner="c:3")


def test_claims_are_not_duties_done(session: Session) -> None:
    duties.claim_run(session, "notice:2026Q2", now=NOW, owner="a:1")
    assert duties.done_runs(session) == {}
    assert not duties.is_done(session, "notice:2026Q2")
