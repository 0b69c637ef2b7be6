"""Bulletins: the text as hand-written, split under Telegram's limit; the chart in a CJK font."""

from __future__ import annotations

import logging
import warnings
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.image import imread
from openpyxl import load_workbook
from sqlmodel import Session

from handlers.sending import split_message, utf16_len
from scoring import duties
from scoring.periods import Period
from scoring.rules import Rules
from scoring.service import Service
from templates.views import Views
from tests.helpers import add_person, d, enter_review, small_bureau
from tests.offline import OfflineBureau
from usecases import bulletins
from usecases.bulletins import build_chart, chart_png, find_cjk_font, render_bulletin

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 7, 5, 10, 0, tzinfo=TZ)
H1 = Period.parse("2026H1")


@pytest.fixture
def people(session: Session) -> dict[str, int]:
    """The small bureau of tests.helpers.small_bureau."""
    return small_bureau(session)


def first_half(service: Service) -> None:
    for text, day in [("冯科员 迟到", "2026-03-02"), ("李四 无故不参加学习", "2026-04-10"),
                      ("李四 早退", "2026-05-11"), ("张三 迟到", "2026-07-01")]:  # fmt: skip
        service.record_finding(text, fact_date=d(day), by="李督查", now=NOW)
    service.add_bonus(target="张三", kind="article", level="市级", title="防汛宣传",
                      fact_date=d("2026-06-01"), by="陈局", now=NOW)  # fmt: skip


EXPECTED_H1 = """\
<b>某某单位 2026年上半年考核测算通报</b>
截至6月30日,共 4 人参加测算。述职测评在年终进行,此处按基本分 20 分计入。测算结果以年度考核为准。

1. 张三(执法监察科) 102 分:加分2
2. 陈局(局领导) 100 分
3. 冯科员(办公室) 99.5 分:机关日常扣0.5
4. 李四(执法监察科) 98.5 分:政治理论扣1、机关日常扣0.5

各项扣分、加分明细见附件 Excel。"""


def test_half_year_bulletin_text_reads_as_written_by_hand(
    session: Session, rules: Rules, service: Service, people: dict[str, int]
) -> None:
    first_half(service)
    rendered = render_bulletin(session, rules, H1, font=None)
    text = Views().say(rendered.text)
    assert text == EXPECTED_H1
    assert split_message(text) == [EXPECTED_H1]


EXPECTED_ANNUAL = """\
<b>某某单位 2026年度考核结果通报</b>
经考核领导小组审定,2026年度内部量化考核结果如下(共 5 人)。

<b>一、考核等次</b>
1. 张三(执法监察科) 100 分 优秀
2. 冯科员(办公室) 99.5 分 称职
2. 陈局(局领导) 99.5 分 称职
2. 王五(法规科) 99.5 分 称职
5. 李四(执法监察科) 79 分 基本称职

<b>二、评定为优秀的人员</b>(1 人)
张三(执法监察科) ★正科级
★ 科级干部张三按规定向区委组织部推荐为优秀。

<b>三、年度奖金按90%发放的人员</b>
李四(执法监察科) 基本称职"""


def test_annual_bulletin_lists_grades_excellent_cadres_and_reduced_payouts(
    session: Session, rules: Rules, service: Service, people: dict[str, int]
) -> None:
    people["王五"] = add_person(session, "王五", "法规科")
    for name, pid in people.items():
        enter_review(session, pid, ("5", "2", "2") if name == "李四" else ("10", "5", "5"))
    session.commit()
    for name in ("冯科员", "陈局", "王五"):
        service.record_finding(f"{name} 迟到", fact_date=d("2026-03-02"), by="李督查", now=NOW)
    service.record_finding("李四 旷工5天", fact_date=d("2026-05-06"), by="李督查", now=NOW)
    result = duties.annual_result(session, rules, 2026)
    assert Views().say(bulletins.annual_text(rules, result)) == EXPECTED_ANNUAL


# ------------------------------------------------------------------ splitting
def test_long_text_is_split_at_line_breaks_under_the_limit() -> None:
    lines = [f"{i}. 某某某(执法监察科) 98.5 分:政治理论扣1、机关日常扣0.5" for i in range(400)]
    text = "\n".join(lines)
    parts = split_message(text)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text  # nothing lost, no line cut


def test_a_line_longer_than_the_limit_is_cut() -> None:
    parts = split_message("头\n" + "考" * 5000 + "\n尾", limit=4096)
    assert [len(p) for p in parts] == [1, 4096, 904 + 2]  # the rest and "\n尾"


def test_emoji_count_twice_toward_the_limit() -> None:
    parts = split_message("😀" * 10, limit=8)
    assert parts == ["😀" * 4, "😀" * 4, "😀" * 2]


def test_a_big_bureau_bulletin_is_sent_in_several_messages(session: Session, rules: Rules) -> None:
    for i in range(220):
        add_person(session, f"人员{i:03d}号同志", f"第{i % 12}科室")
    session.commit()
    rendered = render_bulletin(session, rules, H1, font=None)
    parts = split_message(Views().say(rendered.text))
    assert len(parts) >= 2
    assert all(utf16_len(p) <= 4096 for p in parts)
    assert parts[0].startswith("<b>某某单位 2026年上半年考核测算通报</b>")


# ------------------------------------------------------------------ the chart
@pytest.fixture(scope="module")
def cjk() -> Path:
    font = find_cjk_font()
    assert font is not None, "no CJK font installed: run `make fonts`"
    return font


def dejavu() -> str:
    return font_manager.findfont(FontProperties(family="DejaVu Sans"), fallback_to_default=False)


def glyph(ch: str, font: str | Path) -> np.ndarray:
    """One character drawn large, as pixels."""
    fig = Figure(figsize=(1, 1), dpi=60)
    fig.text(0.5, 0.5, ch, fontproperties=FontProperties(fname=str(font), size=40),
             ha="center", va="center")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(imread(BytesIO(chart_png(fig))))


def test_a_cjk_font_is_found_through_fontconfig(cjk: Path) -> None:
    assert bulletins.covers(cjk)
    assert "dejavu" not in cjk.name.lower()


def test_the_cjk_font_is_found_through_matplotlib_without_fontconfig(
    monkeypatch: pytest.MonkeyPatch, cjk: Path
) -> None:
    monkeypatch.setattr(bulletins.shutil, "which", lambda _name: None)
    bulletins.find_cjk_font.cache_clear()
    try:
        found = find_cjk_font()
        assert found is not None and bulletins.covers(found)
    finally:
        bulletins.find_cjk_font.cache_clear()


def test_chart_labels_are_drawn_in_the_cjk_font_without_missing_glyphs(
    session: Session, rules: Rules, service: Service, people: dict[str, int], cjk: Path
) -> None:
    first_half(service)
    standings = service.standings(H1)
    fig = build_chart(rules, "某某单位 2026年上半年考核测算", standings, font=cjk)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["张三(执法监察科)", "陈局(局领导)", "冯科员(办公室)", "李四(执法监察科)"]
    for text in [*ax.get_yticklabels(), ax.title, ax.xaxis.label]:
        assert font_manager.findfont(text.get_fontproperties()) == str(cjk)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart_png(fig)
    assert png.startswith(b"\x89PNG")
    assert not [w for w in caught if "missing from font" in str(w.message)]


def test_the_same_chart_in_dejavu_has_missing_glyphs_and_looks_different(
    rules: Rules, service: Service, people: dict[str, int], cjk: Path
) -> None:
    standings = service.standings(H1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = chart_png(build_chart(rules, "考核测算", standings, font=dejavu()))
    assert [w for w in caught if "missing from font(s) DejaVu Sans" in str(w.message)]
    good = chart_png(build_chart(rules, "考核测算", standings, font=cjk))
    a, b = (np.asarray(imread(BytesIO(x))) for x in (good, fallback))
    assert a.shape == b.shape and np.abs(a - b).mean() > 0.001


def test_distinct_characters_draw_distinct_glyphs_in_the_cjk_font_not_tofu(cjk: Path) -> None:
    assert not np.array_equal(glyph("考", cjk), glyph("核", cjk))
    # the fallback draws the same empty box for both: what the chart must never show
    assert np.array_equal(glyph("考", dejavu()), glyph("核", dejavu()))


def test_without_a_cjk_font_the_bulletin_has_no_chart_and_says_so(
    session: Session, rules: Rules, people: dict[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="usecases.bulletins"):
        rendered = render_bulletin(session, rules, H1, font=None)
    assert rendered.png is None and rendered.xlsx.startswith(b"PK")
    assert "no CJK font" in caplog.text


def test_the_bulletin_excel_is_the_export_of_the_period(
    session: Session, rules: Rules, service: Service, people: dict[str, int], tmp_path: Path
) -> None:
    first_half(service)
    rendered = render_bulletin(session, rules, H1, font=None)
    png, xlsx = rendered.write(tmp_path)
    assert png is None
    book = load_workbook(xlsx)
    assert book.sheetnames == ["汇总", "明细"]
    assert book["汇总"]["A1"].value == "某某单位内部量化考核 2026H1 汇总表"
    assert book["明细"].max_row == 1 + 4  # four entries dated in H1


async def test_demo_half_year_bulletin_writes_the_chart_and_the_excel(
    tmp_path: Path, cjk: Path, bureau: OfflineBureau
) -> None:
    text, png, xlsx = await bureau.svc.bulletin_files(tmp_path / "out", "2026H1")
    assert text.startswith("某某单位 2026年上半年考核测算通报\n")
    assert png is not None and png.read_bytes().startswith(b"\x89PNG")
    assert xlsx.name == "kaohe-2026H1.xlsx" and xlsx.exists()
