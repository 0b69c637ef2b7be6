"""Evidence that outlives the chat: each photo or document of a finding, a claim or study
notes is also kept next to the database, named by its SHA-256, recorded with what it proves,
and listed by `kaohe export`; a failed download records the finding all the same."""

from __future__ import annotations

import hashlib
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import Session, col, select

from scoring.evidence import EvidenceStore, extension
from scoring.models import Entry, StudySubmission
from tests.helpers import run_cli
from tests.offline import OfflineBureau as Bureau
from tests.test_bot_claims import _approve, _claim

PHOTO = b"\x89PNG\r\n\x1a\n a photo of the empty desk at 9:05"


def _entries(b: Bureau, kind: str = "deduction") -> list[Entry]:
    with Session(b.svc.engine) as s:
        return list(s.exec(select(Entry).where(Entry.kind == kind).order_by(col(Entry.id))).all())


def _kept(b: Bureau, name: str) -> bytes:
    return EvidenceStore(b.db_path.parent / "evidence").path(name).read_bytes()


async def test_a_findings_photo_is_kept_by_its_sha256_and_listed_in_the_export(
    bureau: Bureau,
) -> None:
    card = await bureau.say("李督查", photo=PHOTO, caption="李四 脱岗")
    await bureau.press("李督查", card, "确认")
    [entry] = _entries(bureau)
    digest = hashlib.sha256(PHOTO).hexdigest()
    assert entry.evidence_file == f"{digest}.jpg"
    assert entry.evidence  # the chat's own reference stays beside it
    assert _kept(bureau, entry.evidence_file) == PHOTO

    xlsx = bureau.db_path.parent / "export.xlsx"
    run = run_cli("export", str(xlsx), "--period", "2026", db=bureau.db_path,
                  cwd=bureau.db_path.parent)  # fmt: skip
    assert run.code == 0, run.output
    details = [list(r) for r in load_workbook(xlsx).worksheets[1].iter_rows(values_only=True)]
    header = next(r for r in details if r and "证据文件" in r)
    row = next(r for r in details if r and r[0] == entry.id)
    assert row[header.index("证据文件")] == f"{digest[:2]}/{digest}.jpg"


async def test_a_failed_download_still_records_the_finding_without_the_copy(
    bureau: Bureau,
) -> None:
    bureau.api.fail_next("getFile", status=400, description="Bad Request: file is too big")
    card = await bureau.say("李督查", photo=PHOTO, caption="李四 脱岗")
    await bureau.press("李督查", card, "确认")
    [entry] = _entries(bureau)
    assert entry.evidence and entry.evidence_file == ""
    assert not (bureau.db_path.parent / "evidence").exists()


async def test_a_claims_certificate_and_a_photo_of_notes_are_kept_too(bureau: Bureau) -> None:
    await _claim(bureau, "张三", document=True)
    await _approve(bureau, "陈局")
    [bonus] = _entries(bureau, "bonus")
    certificate = b"%PDF-1.4 honour"
    assert bonus.evidence_file == f"{hashlib.sha256(certificate).hexdigest()}.pdf"
    assert _kept(bureau, bonus.evidence_file) == certificate

    await bureau.say("王五", photo=PHOTO, caption="/notes 800")
    with Session(bureau.svc.engine) as s:
        [notes] = s.exec(select(StudySubmission)).all()
    assert notes.evidence_file == f"{hashlib.sha256(PHOTO).hexdigest()}.jpg"  # stored once


def test_the_same_bytes_are_one_file_and_odd_extensions_are_made_safe(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    first, again = store.keep(PHOTO, "jpg"), store.keep(PHOTO, "jpg")
    assert first == again and len(list((tmp_path / "evidence").rglob("*.jpg"))) == 1
    assert extension("../../etc/passwd") == "bin"
    assert extension("报告.PDF") == "pdf" and extension("photos/file_7.jpg") == "jpg"
