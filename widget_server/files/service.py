"""Rules for uploaded files: what an avatar must be, and keeping files."""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from pathlib import PurePath

from PIL import Image, UnidentifiedImageError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from widget_server.db.metadata import utcnow
from widget_server.errors import InvalidRequest, NotFound, field_error
from widget_server.files import store
from widget_server.files.store import StoredFile
from widget_server.i18n import _

AVATAR_MIN_PX = 200
AVATAR_MAX_PX = 1500
AVATAR_MAX_BYTES = 5 * 1024 * 1024
_AVATAR_FORMATS = {"PNG": ("image/png", {".png"}), "JPEG": ("image/jpeg", {".jpg", ".jpeg"})}


def check_avatar(data: bytes, filename: str, field: str = "avatar") -> str:
    """Return the avatar's content type, or raise naming every rule the image breaks.

    The format is read from the bytes; the file name must agree with it.
    """
    problems: list[tuple[str, str]] = []
    suffix = PurePath(filename).suffix.lower()
    if len(data) > AVATAR_MAX_BYTES:
        message = _("The avatar must be at most {megabytes} MB.")
        problems.append(("too_large", message.format(megabytes=AVATAR_MAX_BYTES // 2**20)))
        raise _avatar_error(field, problems)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format or ""
            width, height = image.size
    except (UnidentifiedImageError, Image.DecompressionBombWarning, OSError, ValueError):
        message = _("The avatar must be a PNG or JPEG image; this file is not an image.")
        problems.append(("format", message))
        raise _avatar_error(field, problems) from None
    if image_format not in _AVATAR_FORMATS:
        message = _("The avatar must be a PNG or JPEG image, not {format}.")
        problems.append(("format", message.format(format=image_format or _("unknown"))))
    else:
        suffixes = _AVATAR_FORMATS[image_format][1]
        if suffix not in suffixes:
            message = _(
                "The file is a {format} image but its name ends in '{suffix}'; name it {names}."
            ).format(
                format=image_format,
                suffix=suffix or _("(nothing)"),
                names=_(" or ").join(sorted(suffixes)),
            )
            problems.append(("name_mismatch", message))
    if width != height:
        message = _("The avatar must be square; this one is {width}×{height} px.")
        problems.append(("not_square", message.format(width=width, height=height)))
    if min(width, height) < AVATAR_MIN_PX:
        message = _("The avatar must be at least {min}×{min} px; this one is {width}×{height} px.")
        problems.append(
            ("too_small", message.format(min=AVATAR_MIN_PX, width=width, height=height))
        )
    if max(width, height) > AVATAR_MAX_PX:
        message = _("The avatar must be at most {max}×{max} px; this one is {width}×{height} px.")
        problems.append(("too_big", message.format(max=AVATAR_MAX_PX, width=width, height=height)))
    if problems:
        raise _avatar_error(field, problems)
    return _AVATAR_FORMATS[image_format][0]


def _avatar_error(field: str, problems: list[tuple[str, str]]) -> InvalidRequest:
    details = [field_error(field, message, code) for code, message in problems]
    return InvalidRequest(" ".join(message for _code, message in problems), details=details)


async def save_file(
    conn: AsyncConnection,
    *,
    site_id: int | None,
    purpose: str,
    filename: str,
    content_type: str,
    data: bytes,
) -> str:
    file_id = str(uuid.uuid4())
    await store.insert_file(
        conn,
        file_id=file_id,
        site_id=site_id,
        purpose=purpose,
        filename=PurePath(filename).name[:255] or "file",
        content_type=content_type,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        now=utcnow(),
    )
    return file_id


async def load_file(engine: AsyncEngine, file_id: str) -> StoredFile:
    async with engine.connect() as conn:
        found = await store.file_by_id(conn, file_id)
    if found is None:
        raise NotFound(_("No such file."))
    return found
