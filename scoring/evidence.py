"""Evidence that outlives the chat: every photo or document also kept as a local file.

Files are content-addressed: named by the SHA-256 of their bytes and an extension,
``<folder>/<sha256[:2]>/<sha256>.<ext>``, so the same photo sent twice is stored once and a
file's name proves its content. The name is recorded beside the messenger's own reference
(``Entry.evidence_file``, ``StudySubmission.evidence_file``, a claim's ``evidence_file``).
The folder sits next to a SQLite database (``data/evidence`` beside ``data/kaohe.db``), or
where ``KAOHE_EVIDENCE_DIR`` says.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scoring.db import sqlite_file

FOLDER = "evidence"
_EXT = re.compile(r"[a-z0-9]{1,8}")


def evidence_folder(database_url: str, configured: str = "") -> Path:
    """Where evidence files are kept: the folder configured, else next to a SQLite file."""
    if configured:
        return Path(configured)
    db = sqlite_file(database_url)
    return (db.parent if db is not None else Path("data")) / FOLDER


def extension(name: str, default: str = "bin") -> str:
    """A safe file extension from a file name or path ("photos/file_3.JPG" → "jpg")."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return ext if _EXT.fullmatch(ext) else default


def evidence_path(name: str) -> str:
    """Where a recorded file is, inside the evidence folder ("ab/ab12….jpg"; "" for none)."""
    return f"{name[:2]}/{name}" if name else ""


@dataclass(frozen=True)
class EvidenceStore:
    """A folder of evidence files named by their SHA-256."""

    folder: Path

    def path(self, name: str) -> Path:
        """Where the file recorded as ``name`` ("<sha256>.<ext>") is kept."""
        return self.folder / evidence_path(name)

    def keep(self, data: bytes, ext: str) -> str:
        """Store ``data`` (once: the same bytes are the same file); its recorded name."""
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest}.{extension('.' + ext)}"
        target = self.path(name)
        if target.is_file():
            return name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, target)  # a reader sees the whole file or none
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        return name
