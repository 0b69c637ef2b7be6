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
