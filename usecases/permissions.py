"""Who may do what: every handler's permission, declared in this one place.

``None`` means anyone may (even unbound users); ``BOUND`` any bound person; otherwise the
roles listed. Finer checks that depend on the card (only the recorder confirms their own
finding, only the claimant's leader approves) are made by the core call itself.
"""

from __future__ import annotations

from scoring.accounts import ADMIN, GROUP, INSPECTOR, LEADER, STAFF

BOUND = frozenset({STAFF, INSPECTOR, LEADER, GROUP, ADMIN})

PERMISSIONS: dict[str, frozenset[str] | None] = {
    "start": None,
    "help": None,
    "finding": frozenset({INSPECTOR, ADMIN}),
    "finding_confirm": frozenset({INSPECTOR, ADMIN}),
    "finding_cancel": frozenset({INSPECTOR, ADMIN}),
    "finding_undo": frozenset({INSPECTOR, ADMIN}),
    "finding_pick": frozenset({INSPECTOR, ADMIN}),
    "spot_check": frozenset({INSPECTOR, ADMIN}),
    "score": BOUND,
    "notes": BOUND,
    "reflection": BOUND,
    "claim": BOUND,
    "claim_decide": frozenset({LEADER, GROUP}),
    "pending": frozenset({LEADER, GROUP}),
    "appeal": BOUND,
    "appeal_decide": frozenset({GROUP}),
    "dept": frozenset({LEADER, GROUP}),
    "standings": frozenset({GROUP, INSPECTOR, ADMIN}),
    "veto": frozenset({GROUP}),
    "revoke": frozenset({GROUP}),
    "finalize": frozenset({GROUP}),
    "proposal_decide": frozenset({INSPECTOR, ADMIN}),
    "attendance": frozenset({INSPECTOR, ADMIN}),
    "vote": frozenset({GROUP}),
    "ballot": BOUND,
    "scores": frozenset({LEADER, GROUP}),
}
