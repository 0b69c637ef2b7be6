"""The calendar's duties in the core, one module per kind of duty.

- ``runbook``: which duties are done (``DutyRun``), which are due now, ``kaohe jobs``.
- ``notices``: quarterly notices, their objection windows, when a period is final.
- ``spotchecks``: the office's monthly spot checks.
- ``proposals``: year-end proposals and their cards.
- ``closing``: finalizing the year and the annual result.
- ``common``: stored times in the bot's zone, and who is bound to the bot.

Every function takes the caller's session and ``now``; nothing here reads the clock. The
names below are the package's interface: callers use ``scoring.duties.<name>``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for the type checker; at run time each submodule loads on first use
    from scoring import ledger  # callers read entries through ``duties.ledger``
    from scoring.accounts import bound_accounts
    from scoring.duties.closing import (
        AnnualResult,
        Finalized,
        annual_result,
        finalize_year,
        missing_reviews,
        review_done,
    )
    from scoring.duties.common import DUTY_SOURCE, aware, calendar_tz
    from scoring.duties.notices import (
        CategoryLines,
        DepartmentLines,
        NoticeLine,
        QuarterNotice,
        VetoLine,
        notice_of,
        own_deductions,
        period_final,
        quarter_notice,
        record_notice,
    )
    from scoring.duties.proposals import (
        PROPOSAL,
        Proposal,
        ProposalOutcome,
        confirm_proposal,
        dismiss_proposal,
        open_proposal_cards,
        pending_proposals,
        proposal_of,
        year_end_proposals,
    )
    from scoring.duties.runbook import (
        INSTALLED,
        PARTS,
        JobRow,
        add_part,
        claim_run,
        done_runs,
        duties_due,
        install_time,
        installed_at,
        is_done,
        job_rows,
        mark_done,
        parts_done,
        release_run,
    )
    from scoring.duties.spotchecks import record_spot_check, spot_checks

# where each name of the package's interface lives (``ledger`` is the module itself)
_HOME: dict[str, str] = {
    "bound_accounts": "scoring.accounts",
    "AnnualResult": "scoring.duties.closing",
    "Finalized": "scoring.duties.closing",
    "annual_result": "scoring.duties.closing",
    "finalize_year": "scoring.duties.closing",
    "missing_reviews": "scoring.duties.closing",
    "review_done": "scoring.duties.closing",
    "DUTY_SOURCE": "scoring.duties.common",
    "aware": "scoring.duties.common",
    "calendar_tz": "scoring.duties.common",
    "CategoryLines": "scoring.duties.notices",
    "DepartmentLines": "scoring.duties.notices",
    "NoticeLine": "scoring.duties.notices",
    "QuarterNotice": "scoring.duties.notices",
    "VetoLine": "scoring.duties.notices",
    "notice_of": "scoring.duties.notices",
    "own_deductions": "scoring.duties.notices",
    "period_final": "scoring.duties.notices",
    "quarter_notice": "scoring.duties.notices",
    "record_notice": "scoring.duties.notices",
    "PROPOSAL": "scoring.duties.proposals",
    "Proposal": "scoring.duties.proposals",
    "ProposalOutcome": "scoring.duties.proposals",
    "confirm_proposal": "scoring.duties.proposals",
    "dismiss_proposal": "scoring.duties.proposals",
    "open_proposal_cards": "scoring.duties.proposals",
    "pending_proposals": "scoring.duties.proposals",
    "proposal_of": "scoring.duties.proposals",
    "year_end_proposals": "scoring.duties.proposals",
    "INSTALLED": "scoring.duties.runbook",
    "JobRow": "scoring.duties.runbook",
    "PARTS": "scoring.duties.runbook",
    "add_part": "scoring.duties.runbook",
    "claim_run": "scoring.duties.runbook",
    "done_runs": "scoring.duties.runbook",
    "duties_due": "scoring.duties.runbook",
    "install_time": "scoring.duties.runbook",
    "installed_at": "scoring.duties.runbook",
    "is_done": "scoring.duties.runbook",
    "job_rows": "scoring.duties.runbook",
    "mark_done": "scoring.duties.runbook",
    "parts_done": "scoring.duties.runbook",
    "release_run": "scoring.duties.runbook",
    "record_spot_check": "scoring.duties.spotchecks",
    "spot_checks": "scoring.duties.spotchecks",
}

__all__ = [
    "DUTY_SOURCE",
    "INSTALLED",
    "PARTS",
    "PROPOSAL",
    "AnnualResult",
    "CategoryLines",
    "DepartmentLines",
    "Finalized",
    "JobRow",
    "NoticeLine",
    "Proposal",
    "ProposalOutcome",
    "QuarterNotice",
    "VetoLine",
    "add_part",
    "annual_result",
    "aware",
    "bound_accounts",
    "calendar_tz",
    "claim_run",
    "confirm_proposal",
    "dismiss_proposal",
    "done_runs",
    "duties_due",
    "finalize_year",
    "install_time",
    "installed_at",
    "is_done",
    "job_rows",
    "ledger",
    "mark_done",
    "missing_reviews",
    "notice_of",
    "open_proposal_cards",
    "own_deductions",
    "parts_done",
    "pending_proposals",
    "period_final",
    "proposal_of",
    "quarter_notice",
    "record_notice",
    "record_spot_check",
    "release_run",
    "review_done",
    "spot_checks",
    "year_end_proposals",
]


if not TYPE_CHECKING:  # hidden from mypy: a mistyped name stays an error there

    def __getattr__(name: str) -> Any:
        """A name of the interface, importing (once) only the submodule that holds it: a command
        that needs one kind of duty does not load the others."""
        if name == "ledger":
            return importlib.import_module("scoring.ledger")
        try:
            home = _HOME[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
