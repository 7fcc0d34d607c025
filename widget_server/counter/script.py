"""The counter script for one site: the built ``static/dist/counter.js`` with the site's settings
baked in where the build has the placeholder ``"__VITRINE_CONFIG__"`` (docs/counter-protocol.md).

Each distinct result is compressed once (brotli quality 11, gzip level 9) and kept in memory
under its content hash, which is also its ETag: a settings change, or a new build, gives new
bytes and so a new ETag.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]  # ships no type hints

DIST = Path(__file__).resolve().parent.parent / "static" / "dist" / "counter.js"
PLACEHOLDER = b'"__VITRINE_CONFIG__"'
MAX_CACHED = 2000


class ScriptMissing(RuntimeError):
    """The build is missing or has no placeholder: a deployment error, not the visitor's."""


@dataclass(frozen=True)
class CompiledScript:
    etag: str
    identity: bytes
    br: bytes
    gzip: bytes

    def encoded(self, accept_encoding: str) -> tuple[str | None, bytes]:
        """The best encoding the client accepts: brotli, then gzip, then none."""
        accepted = _accepted(accept_encoding)
        if "br" in accepted:
            return "br", self.br
        if "gzip" in accepted:
            return "gzip", self.gzip
        return None, self.identity


def _accepted(header: str) -> set[str]:
    found: set[str] = set()
    for part in header.split(","):
        name, _sep, params = part.strip().partition(";")
        quality = params.strip()
        if quality.startswith("q="):
            try:
                if float(quality[2:]) <= 0:
                    continue
            except ValueError:
                continue
        found.add(name.strip().lower())
    return found


def etag_matches(if_none_match: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


class ScriptCache:
    def __init__(self, source: Path = DIST) -> None:
        self.source = source
        self._template: tuple[tuple[int, int], bytes] | None = None  # ((mtime, size), bytes)
        self._compiled: dict[str, CompiledScript] = {}

    def _read_template(self) -> bytes:
        try:
            stat = self.source.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            if self._template is None or self._template[0] != version:
                self._template = (version, self.source.read_bytes())
        except OSError as exc:
            raise ScriptMissing(f"the counter build {self.source} cannot be read: {exc}") from exc
        template = self._template[1]
        if template.count(PLACEHOLDER) != 1:
            raise ScriptMissing(f"{self.source} must contain {PLACEHOLDER.decode()} exactly once")
        return template

    def render(self, config: dict[str, Any]) -> CompiledScript:
        """The script with ``config`` baked in, compressed (cached by content)."""
        baked = json.dumps(config, separators=(",", ":"), ensure_ascii=True).encode()
        body = self._read_template().replace(PLACEHOLDER, baked)
        digest = hashlib.sha256(body).hexdigest()[:32]
        found = self._compiled.get(digest)
        if found is None:
            if len(self._compiled) >= MAX_CACHED:
                self._compiled.clear()
            found = CompiledScript(
                etag=f'"{digest}"',
                identity=body,
                br=brotli.compress(body, quality=11),
                gzip=gzip.compress(body, compresslevel=9, mtime=0),
            )
            self._compiled[digest] = found
        return found
