"""The bulletins: their text (a template and its values), the chart, the Excel export.

The chart is drawn with matplotlib's object API (no pyplot state, safe off the event
loop) in a CJK font found through fontconfig or matplotlib's font manager. Without one,
Chinese would come out as empty boxes: a warning is logged and the bulletin is text and
Excel only.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session

from scoring import duties, ledger
from scoring.calendar import period_title
from scoring.periods import SHANGHAI, Period
from scoring.points import fmt
from scoring.rules import Rules
from scoring.standings import Standing, StandingsOf, compute_standings
from usecases.messages import Action, Attachment, Say, say

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)
# Characters a CJK font must draw to be used (those of the chart's title and labels).
CJK_SAMPLE = "考核测算通报总分优秀称职基本不科室局领导办公室"
KNOWN_CJK_FAMILIES = (
    "Noto Sans CJK", "Noto Serif CJK", "Source Han", "WenQuanYi", "Droid Sans Fallback",
    "AR PL", "SimHei", "SimSun", "Microsoft YaHei", "PingFang", "Hiragino Sans GB", "Heiti",
)  # fmt: skip
BAND_COLOURS = ("#2e7d32", "#1565c0", "#ef6c00", "#c62828", "#6a1b9a")


# ------------------------------------------------------------------ text
@dataclass(frozen=True)
class BulletinRow:
    """One person in the half-year bulletin."""

    rank: int
    name: str
    department: str
    total: Decimal
    deductions: tuple[tuple[str, Decimal], ...]
    bonus: Decimal


def bulletin_rows(rules: Rules, standings: list[Standing]) -> list[BulletinRow]:
    """Standings as the bulletin lists them: points lost per category (short name), bonus."""
    short = {c.code: c.name[:4] for c in rules.categories}
    return [
        BulletinRow(
            s.rank,
            s.name,
            s.department,
            s.total,
            tuple((short[code], c.deducted) for code, c in s.categories.items() if c.deducted),
            s.bonus,
        )
        for s in standings
    ]


def half_year_text(rules: Rules, period: Period, standings: list[Standing]) -> Say:
    """The half-year bulletin's text."""
    review = rules.category(rules.review.category)
    return say(
        "bulletin_half_year.html.j2",
        unit=rules.unit.name,
        title=period_title(period),
        as_of=period.end - timedelta(days=1),
        rows=bulletin_rows(rules, standings),
        estimated=any(s.review_estimated for s in standings),
        review_name=review.name,
        review_base=review.base,
    )


def annual_text(rules: Rules, result: duties.AnnualResult) -> Say:
    """The annual bulletin's text: grades, the excellent, the reduced payouts."""
    return say(
        "bulletin_annual.html.j2",
        unit=rules.unit.name,
        r=result,
        payout_percent=fmt(rules.payout.reduced_factor * 100),
    )


def notice_text(
    rules: Rules, notice: duties.QuarterNotice, closes: date, *rows: list[Action]
) -> Say:
    """A quarterly notice's text: deductions, vetoes, bonuses, the objection window."""
    return say(
        "notice_quarter.html.j2",
        *rows,
        unit=rules.unit.name,
        n=notice,
        window_days=rules.calendar.objection_window_working_days,
        closes=closes,
    )


# ------------------------------------------------------------------ the chart
def _fc_list() -> list[str]:
    """Font files fontconfig says cover Chinese (none if fontconfig is not installed)."""
    exe = shutil.which("fc-list")
    if exe is None:
        return []
    try:
        done = subprocess.run(
            [exe, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({ln.strip().rstrip(":") for ln in done.stdout.splitlines() if ln.strip()})


def covers(path: str | Path, sample: str = CJK_SAMPLE) -> bool:
    """Whether a font file has a glyph for every character of the sample."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(str(path))
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) for ch in sample if not ch.isspace())


@lru_cache(maxsize=1)
def find_cjk_font() -> Path | None:
    """A font file that draws Chinese: fontconfig's first, then matplotlib's known families."""
    from matplotlib import font_manager

    candidates = _fc_list()
    candidates += [
        f.fname
        for f in font_manager.fontManager.ttflist
        if any(f.name.startswith(family) for family in KNOWN_CJK_FAMILIES)
    ]
    for path in candidates:
        if path.lower().endswith((".ttf", ".ttc", ".otf")) and covers(path):
            return Path(path)
    return None


def build_chart(rules: Rules, title: str, standings: list[Standing], *, font: Path | str) -> Figure:
    """Everyone's total as a bar, coloured by grade band, in the given font."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    prop = FontProperties(fname=str(font))
    small = FontProperties(fname=str(font), size=8)
    bands = rules.grades.bands
    n = max(len(standings), 1)
    fig = Figure(figsize=(9, min(max(3.0, 0.32 * n + 1.8), 60.0)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    totals = [float(s.total) for s in standings]  # floats at the drawing edge only
    colours = [BAND_COLOURS[_band(rules, s.total) % len(BAND_COLOURS)] for s in standings]
    ticks = list(range(len(standings)))
    ax.barh(ticks, totals, color=colours, height=0.7)
    ax.set_yticks(ticks, [f"{s.name}({s.department})" for s in standings], fontproperties=prop)
    ax.invert_yaxis()
    for i, s in enumerate(standings):
        ax.text(float(s.total) + 0.3, i, fmt(s.total), va="center", fontproperties=small)
    for band in bands[:-1]:
        ax.axvline(float(band.min_total), color="#888888", linestyle="--", linewidth=0.8)
    low = min(totals, default=0.0)
    ax.set_xlim(max(0.0, low - 10), max([*totals, 100.0]) + 6)
    ax.set_xlabel("总分(测算)", fontproperties=prop)
    ax.set_title(title, fontproperties=prop)
    labels = []
    for i, band in enumerate(bands):
        if i == 0:
            labels.append(f"{fmt(band.min_total)}分以上")
        elif band.min_total == 0:
            labels.append(f"{fmt(bands[i - 1].min_total)}分以下")
        else:
            labels.append(f"{fmt(band.min_total)}–{fmt(bands[i - 1].min_total)}分")
    handles = [Patch(color=BAND_COLOURS[i % len(BAND_COLOURS)]) for i in range(len(bands))]
    ax.legend(handles, labels, prop=small, loc="lower right")
    fig.tight_layout()
    return fig


def _band(rules: Rules, total: Decimal) -> int:
    for i, band in enumerate(rules.grades.bands):
        if total >= band.min_total:
            return i
    return len(rules.grades.bands) - 1


def chart_png(fig: Figure) -> bytes:
    """A figure as PNG bytes."""
    buf = BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# ------------------------------------------------------------------ the whole bulletin
@dataclass(frozen=True)
class RenderedBulletin:
    """A bulletin ready to post: its text, the chart (if a CJK font exists), the Excel."""

    period: Period
    text: Say
    caption: Say
    png: bytes | None
    xlsx: bytes
    png_name: str
    xlsx_name: str

    @property
    def chart(self) -> Say | None:
        """The chart as a message (None without a CJK font)."""
        if self.png is None:
            return None
        file = Attachment("photo", data=self.png, filename=self.png_name)
        return Say(self.caption.template, self.caption.values, file=file)

    def excel(self, caption: Say) -> Say:
        """The Excel file as a message with its caption."""
        file = Attachment("document", data=self.xlsx, filename=self.xlsx_name)
        return Say(caption.template, caption.values, file=file)

    def write(self, folder: Path) -> tuple[Path | None, Path]:
        """Write the chart and the Excel into a folder; returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        png = None
        if self.png is not None:
            png = folder / self.png_name
            png.write_bytes(self.png)
        xlsx = folder / self.xlsx_name
        xlsx.write_bytes(self.xlsx)
        return png, xlsx


def export_bytes(
    rules: Rules,
    period: Period,
    standings: list[Standing],
    entries: list[ledger.EntryView],
    *,
    tz: tzinfo = SHANGHAI,
) -> bytes:
    """The Excel export (scoring.export) as bytes."""
    from scoring.export import write_export  # openpyxl (and numpy): loaded when first needed

    with tempfile.TemporaryDirectory(prefix="kaohe-") as tmp:
        path = write_export(Path(tmp) / "export.xlsx", rules, period, standings, entries, tz=tz)
        return path.read_bytes()


def render_bulletin(
    session: Session,
    rules: Rules,
    period: Period,
    *,
    font: Path | None,
    tz: tzinfo = SHANGHAI,
    standings_of: StandingsOf = compute_standings,
) -> RenderedBulletin:
    """The standings of a period as the group reads them: text, chart and Excel."""
    standings = standings_of(session, rules, period)
    entries = ledger.entry_views(session, rules, period)
    title = f"{rules.unit.name} {period_title(period)}考核测算"
    png = None
    if font is None:
        log.warning("no CJK font found: the %s bulletin is sent without its chart", period.label)
    else:
        png = chart_png(build_chart(rules, title, standings, font=font))
    return RenderedBulletin(
        period=period,
        text=half_year_text(rules, period, standings),
        caption=say("bulletin_chart_caption.html.j2", title=title),
        png=png,
        xlsx=export_bytes(rules, period, standings, entries, tz=tz),
        png_name=f"kaohe-{period.label}.png",
        xlsx_name=f"kaohe-{period.label}.xlsx",
    )
