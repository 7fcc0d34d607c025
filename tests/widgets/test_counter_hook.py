"""The counter script loads the chat module only while the site's chat is on."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from tests.conftest import SiteTeam
from tests.counter.conftest import STAND_IN, baked_config
from widget_server.runtime import Runtime
from widget_server.widgets import service


def test_the_module_url_carries_a_hash_of_the_build_once_it_exists(tmp_path: Path) -> None:
    built = tmp_path / "chat.js"
    assert service.chat_module_url("http://h/", built) == "http://h/static/dist/chat.js"
    built.write_bytes(b"console.log('chat');")
    version = hashlib.sha256(b"console.log('chat');").hexdigest()[:10]
    assert service.chat_module_url("http://h", built) == f"http://h/static/dist/chat.js?v={version}"
    built.write_bytes(b"changed")  # read once per process
    assert service.chat_module_url("http://h", built).endswith(f"?v={version}")


async def test_the_counter_config_lists_the_chat_only_when_it_is_on(
    client: httpx.AsyncClient, state: Runtime, team: SiteTeam, tmp_path: Path
) -> None:
    stand_in = tmp_path / "counter.js"
    stand_in.write_text(STAND_IN)
    state.counter.scripts.source = stand_in
    script_url = f"/s/{team.site.key}.js"

    off = await client.get(script_url)
    assert off.status_code == 200
    assert baked_config(off.text)["m"] == []

    await service.enable_chat(team.access(), state.engine)
    on = await client.get(script_url)
    modules = baked_config(on.text)["m"]
    assert modules == [service.chat_module_url("http://testserver")]
    assert modules[0].startswith("http://testserver/static/dist/chat.js")
    assert on.headers["etag"] != off.headers["etag"]

    await service.enable_chat(team.access(), state.engine, False)
    assert baked_config((await client.get(script_url)).text)["m"] == []
