"""Files sent in chats: what may be sent (the type is read from the bytes, and the name's
extension must agree), storing them in the database, and the signed links that serve them."""

from __future__ import annotations

import hmac
import io
import warnings
from pathlib import PurePath
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from widget_server.chat import file_store, frames
from widget_server.chat.models import ChatFile
from widget_server.db.metadata import utcnow
from widget_server.errors import InvalidRequest, NotFound, PayloadTooLarge, field_error
from widget_server.files import service as files
from widget_server.files.store import StoredFile
from widget_server.i18n import _

if TYPE_CHECKING:
    from widget_server.runtime import Runtime

MAX_BYTES = 5 * 1024 * 1024
# Sniffed type -> the extensions a name may end in.
ALLOWED: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".text", ".log", ".csv", ".md"),
}
_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def _refuse(message: str, code: str) -> InvalidRequest:
    return InvalidRequest(message, details=[field_error("file", message, code)])


def _image_type(data: bytes) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.verify()
            image_format = image.format or ""
    except (
        UnidentifiedImageError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
        SyntaxError,
    ):
        return None
    return _IMAGE_TYPES.get(image_format, "image/other")


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff(data: bytes, filename: str) -> str:
    """The file's content type, read from its bytes; 413 past 5 MB, 422 (the reason in the
    message) for a type we do not take or a name whose extension says otherwise."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(
            _("A file is at most {megabytes} MB.").format(megabytes=MAX_BYTES // 2**20)
        )
    if not data:
        raise _refuse(_("The file is empty."), "empty")
    if data.startswith(b"%PDF-"):
        kind: str | None = "application/pdf"
    else:
        kind = _image_type(data)
        if kind is None and _is_text(data):
            kind = "text/plain"
    if kind is None or kind not in ALLOWED:
        message = _("Only images (PNG, JPEG, GIF, WebP), PDF and plain text files can be sent.")
        raise _refuse(message, "type")
    suffix = PurePath(filename).suffix.lower()
    if suffix not in ALLOWED[kind]:
        message = _(
            "The file's content is {kind} but its name ends in '{suffix}'; name it {names}."
        ).format(kind=kind, suffix=suffix or _("(nothing)"), names=_(" or ").join(ALLOWED[kind]))
        raise _refuse(message, "name_mismatch")
    return kind


async def save_attachment(
    state: Runtime,
    *,
    site_id: int,
    filename: str,
    data: bytes,
    visitor_id: int | None = None,
    user_id: int | None = None,
) -> ChatFile:
    content_type = sniff(data, filename)
    name = PurePath(filename).name[:255] or "file"
    async with state.engine.begin() as conn:
        file_id = await files.save_file(
            conn, site_id=site_id, purpose="chat", filename=name, content_type=content_type,
            data=data,
        )  # fmt: skip
        await file_store.insert_chat_file(
            conn,
            file_id=file_id,
            site_id=site_id,
            visitor_id=visitor_id,
            user_id=user_id,
            name=name,
            content_type=content_type,
            size=len(data),
            created_at=utcnow(),
        )
    return ChatFile(file_id, site_id, name, content_type, len(data))


async def signed_file(state: Runtime, file_id: str, signature: str) -> StoredFile:
    """The chat file behind a signed link; 404 for a wrong signature (nothing is revealed)."""
    expected = frames.file_signature(state.settings.secret_key, file_id)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise NotFound(_("No such file."))
    async with state.engine.connect() as conn:
        known = await file_store.chat_file_by_id(conn, file_id)
    if known is None:
        raise NotFound(_("No such file."))
    return await files.load_file(state.engine, file_id)
