"""The visitor token: a session renews it; one older than TOKEN_MAX_AGE opens nothing (a token
copied off a device stops working), while a visitor who comes back in time keeps their chats."""

from __future__ import annotations

import json
import time

import httpx
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.chat.conftest import ORIGIN, chat_team, new_cid
from widget_server.chat import service, visitors
from widget_server.runtime import Runtime

HEADERS = {"Origin": ORIGIN, "Content-Type": "text/plain"}
DAY = 24 * 3600


def issued(state: Runtime, site_id: int, visitor_id: int, days_ago: float) -> str:
    """A token as the server would have issued it ``days_ago``."""
    at = int(time.time() - days_ago * DAY)

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return at

    serializer = URLSafeTimedSerializer(
        state.settings.secret_key, salt=visitors.TOKEN_SALT, signer=Then
    )
    return str(serializer.dumps({"s": site_id, "v": visitor_id}))


async def session(client: httpx.AsyncClient, key: str, token: str | None) -> dict[str, object]:
    answer = await client.post(
        f"/chat/{key}/session",
        content=json.dumps({"i": "vis-1", "token": token}),
        headers=HEADERS,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_tokens_are_renewed_by_each_session_and_expire(
    client: httpx.AsyncClient, state: Runtime
) -> None:
    team = await chat_team(state)
    first = await session(client, team.site.key, None)
    visitor = await visitors.visitor_of_token(state, team.site.id, first["token"])
    assert visitor is not None
    await service.visitor_send(
        state, visitor, conversation_id=None, client_id=new_cid(), text="Hello"
    )

    # Back 89 days later: the same visitor and their chat, with a fresh token.
    recent = issued(state, team.site.id, visitor.id, days_ago=89)
    back = await session(client, team.site.key, recent)
    again = await visitors.visitor_of_token(state, team.site.id, back["token"])
    assert again is not None and again.id == visitor.id
    assert back["token"] != recent
    assert len(back["conversations"]) == 1  # type: ignore[arg-type]

    # A token from 91 days ago opens nothing: not the socket, not the visitor's chats.
    stale = issued(state, team.site.id, visitor.id, days_ago=91)
    assert visitors.token_visitor_id(state.settings.secret_key, team.site.id, stale) is None
    assert await visitors.visitor_of_token(state, team.site.id, stale) is None
    late = await session(client, team.site.key, stale)
    stranger = await visitors.visitor_of_token(state, team.site.id, late["token"])
    assert stranger is not None and stranger.id != visitor.id
    assert late["conversations"] == []
