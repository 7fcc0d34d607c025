"""The browser code's hard limits: the pasted stub, the counter, the chat modules and the buy
buttons' module stay within their byte budgets, the committed build is what sdk_js builds today,
and the server's config placeholder is there once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import brotli
import pytest

from widget_server.widgets.snippet import STUB, snippet

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk_js"
DIST = ROOT / "widget_server" / "static" / "dist"
COUNTER = DIST / "counter.js"
STUB_BUDGET = 120
COUNTER_BUDGET = 1500
CHAT = [DIST / "chat.js", DIST / "chat-panel.js"]  # the launcher and the panel it loads
CHAT_BUDGET = 12 * 1024  # both together
BUY = DIST / "buy.js"
BUY_BUDGET = 1000
PLACEHOLDER = b'"__VITRINE_CONFIG__"'


def test_the_stub_fits_in_120_bytes() -> None:
    tag = f"<script>{STUB}</script>".encode()
    print(f"stub tag: {len(tag)} bytes")
    assert len(tag) <= STUB_BUDGET
    # The stub the console shows is the one measured here.
    assert snippet("https://vitrine.example.com", "abc").startswith(tag.decode())


def test_the_counter_fits_in_1500_bytes_brotli() -> None:
    data = COUNTER.read_bytes()
    size = len(brotli.compress(data, quality=11))
    print(f"counter.js: {len(data)} bytes, {size} bytes brotli-11 (budget {COUNTER_BUDGET})")
    assert size <= COUNTER_BUDGET


def test_the_chat_modules_fit_in_12_kb_brotli_together() -> None:
    total = 0
    for path in CHAT:
        data = path.read_bytes()
        size = len(brotli.compress(data, quality=11))
        total += size
        print(f"{path.name}: {len(data)} bytes, {size} bytes brotli-11")
    print(f"chat modules together: {total} bytes brotli-11 (budget {CHAT_BUDGET})")
    assert total <= CHAT_BUDGET


def test_the_buy_module_fits_in_1000_bytes_brotli() -> None:
    data = BUY.read_bytes()
    size = len(brotli.compress(data, quality=11))
    print(f"buy.js: {len(data)} bytes, {size} bytes brotli-11 (budget {BUY_BUDGET})")
    assert size <= BUY_BUDGET


def test_the_config_placeholder_occurs_exactly_once() -> None:
    assert COUNTER.read_bytes().count(PLACEHOLDER) == 1


def test_no_source_map_is_served_from_dist() -> None:
    for path in [COUNTER, *CHAT, BUY]:
        assert b"sourceMappingURL" not in path.read_bytes()
    assert sorted(path.name for path in DIST.iterdir()) == [
        "buy.js",
        "chat-panel.js",
        "chat.js",
        "counter.js",
    ]


def test_the_committed_build_is_not_stale(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    node = shutil.which("node")
    missing = (
        "npm/node are not installed"
        if not (npm and node)
        else "sdk_js/node_modules is missing (run `npm ci --prefix sdk_js`)"
        if not (SDK / "node_modules" / "esbuild").is_dir()
        else ""
    )
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the stale-build check cannot run on CI: {missing}")
        pytest.skip(f"stale-build check: {missing}")
    assert npm
    result = subprocess.run(
        [npm, "run", "--silent", "build", "--", str(tmp_path)],
        cwd=SDK,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    built = sorted(path.name for path in tmp_path.iterdir())
    committed = sorted(path.name for path in DIST.iterdir())
    assert built == committed
    for name in built:
        assert (tmp_path / name).read_bytes() == (DIST / name).read_bytes(), (
            f"widget_server/static/dist/{name} is stale: run `npm run build --prefix sdk_js` "
            "and commit the result"
        )
