"""Files: what users and the bot upload, kept by file_id and by download path, with sizes.

``getFile`` answers a relative ``file_path`` that PTB prefixes with ``<base_file_url><token>/``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import mimetypes
import struct

from fakes.telegram.wire import ApiError, JSONDict, Request

logger = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024


@dataclasses.dataclass
class StoredFile:
    """A file the fake keeps, as Telegram's File object describes it."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str
    mime_type: str

    def as_file(self) -> JSONDict:
        """The ``File`` object getFile answers."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }

    def photo_size(self) -> JSONDict:
        """A ``PhotoSize`` (one size: the fake does not scale images)."""
        width, height = image_size(self.data)
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "width": width,
            "height": height,
        }

    def document(self) -> JSONDict:
        """A ``Document``."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": len(self.data),
        }


class FileStore:
    """Every file seen, by file_id (to send again or getFile) and by path (to download)."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._seq = itertools.count(1)

    def store(self, kind: str, data: bytes, filename: str, mime: str) -> StoredFile:
        """Keep ``data`` as a new photo or document with Telegram-looking ids."""
        number = next(self._seq)
        prefix = {"photo": "AgAC", "document": "BQAC"}.get(kind, "CQAC")
        ext = ".jpg" if kind == "photo" else (mimetypes.guess_extension(mime) or "")
        if "." in filename and kind != "photo":
            ext = "." + filename.rsplit(".", 1)[1]
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=f"{prefix}AgIAAxkBAAI{number:08d}",
            file_unique_id=f"AQAD{number:08d}",
            file_path=f"{folder}/file_{number}{ext}",
            data=data,
            file_name=filename,
            mime_type=mime,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this file_id, if any."""
        return self._by_id.get(file_id)

    def at_path(self, path: str) -> StoredFile | None:
        """The file getFile gave this download path, if any."""
        return self._by_path.get(path)

    def input_file(self, req: Request, field: str, default_mime: str) -> StoredFile:
        """The file a send method names in ``field``: an upload, a known file_id or a URL."""
        value = req.params.get(field)
        upload = req.uploads.get(field)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = req.uploads.get(value.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            mime = upload.content_type or default_mime
            return self.store(field, upload.data, upload.filename or field, mime)
        if isinstance(value, str) and value in self._by_id:
            return self._by_id[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            logger.warning("fake Bot API cannot fetch %s; storing an empty file", value)
            name = value.rstrip("/").rsplit("/", 1)[-1] or field
            return self.store(field, b"", name, default_mime)
        if value is None:
            raise ApiError(400, f"Bad Request: there is no {field} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, GIF or JPEG; (0, 0) for anything else."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return 0, 0


def _jpeg_size(data: bytes) -> tuple[int, int]:
    index = 2
    while index + 9 <= len(data) and data[index] == 0xFF:
        marker = data[index + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return int(width), int(height)
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        index += 2 + int(length)
    return 0, 0
