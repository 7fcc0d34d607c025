"""Mail delivery to a real SMTP server (aiosmtpd), and what happens when there is none."""

from __future__ import annotations

import dataclasses
from email import message_from_bytes, policy
from email.message import EmailMessage

from tests.conftest import SiteTeam
from tests.outbox.conftest import SmtpServer
from widget_server.db.metadata import utcnow
from widget_server.outbox import delivery, mail, service
from widget_server.runtime import Runtime
from widget_server.settings import SmtpSettings

CONSOLE = "http://testserver/console/sites/x/outbox"


def with_smtp(state: Runtime, host: str, port: int) -> Runtime:
    """The same app and database, configured to send mail through ``host:port``."""
    smtp = SmtpSettings(
        host=host, port=port, username=None, password=None, use_tls=False, start_tls=False
    )
    settings = dataclasses.replace(state.settings, smtp=smtp, mail_from="Shop <shop@example.com>")
    return Runtime(settings=settings, engine=state.engine, bus=state.bus)


async def test_mail_reaches_the_smtp_server(
    state: Runtime, team: SiteTeam, smtp_server: SmtpServer
) -> None:
    sender = with_smtp(state, smtp_server.host, smtp_server.port)
    message_id = await service.send_test_mail(team.access(), state.engine, console_url=CONSOLE)

    assert await delivery.deliver_due(sender) == 1

    (envelope,) = smtp_server.inbox.envelopes
    assert envelope.mail_from == "shop@example.com"
    assert envelope.rcpt_tos == [team.owner.email]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "Your Vitrine mail settings work"
    assert mail["From"] == "Shop <shop@example.com>"
    assert mail["To"] == team.owner.email
    assert mail["Message-ID"].endswith("@example.com>")
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    assert f"Hello {team.owner.name}," in text.get_content()
    assert CONSOLE in text.get_content()
    assert f'href="{CONSOLE}"' in html.get_content()
    assert "<table" in html.get_content()

    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts) == ("sent", 1)
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 250)]
    assert await delivery.deliver_due(sender) == 0
    assert len(smtp_server.inbox.envelopes) == 1


async def test_smtp_down_is_logged_and_retried_later(
    state: Runtime, team: SiteTeam, smtp_server: SmtpServer
) -> None:
    down = with_smtp(state, "127.0.0.1", 9)  # nothing listens on the discard port
    message_id = await service.send_test_mail(team.access(), state.engine, console_url=CONSOLE)

    before = utcnow()
    assert await delivery.deliver_due(down) == 1
    message, (attempt,) = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts) == ("pending", 1)
    assert not attempt.ok and attempt.error
    assert message.last_error == attempt.error
    delay = mail.BACKOFF[0]
    assert before + delay <= message.next_attempt_at <= utcnow() + delay
    assert await delivery.deliver_due(down) == 0  # waits for its backoff

    # Not lost: once due again and the server is up, it is delivered.
    await service.retry_now(team.access(), state.engine, message_id)
    assert await delivery.deliver_due(with_smtp(state, smtp_server.host, smtp_server.port)) == 1
    assert len(smtp_server.inbox.envelopes) == 1
    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, [a.ok for a in attempts]) == ("sent", [False, True])


async def test_a_refused_recipient_fails_without_retrying(
    state: Runtime, team: SiteTeam, smtp_server: SmtpServer
) -> None:
    smtp_server.inbox.refuse.add(team.owner.email)
    message_id = await service.send_test_mail(team.access(), state.engine, console_url=CONSOLE)
    assert await delivery.deliver_due(with_smtp(state, smtp_server.host, smtp_server.port)) == 1
    message, (attempt,) = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, attempt.status_code) == ("failed", 550)
    assert attempt.error and "No such user" in attempt.error


async def test_without_smtp_mail_waits_unclaimed(
    state: Runtime, team: SiteTeam, smtp_server: SmtpServer
) -> None:
    assert state.settings.smtp is None
    message_id = await service.send_test_mail(team.access(), state.engine, console_url=CONSOLE)

    assert await delivery.deliver_due(state) == 0
    message, attempts = await service.message_detail(team.access(), state.engine, message_id)
    assert (message.state, message.attempts, attempts) == ("pending", 0, [])
    assert await service.pending_mail_count(team.access(), state.engine) == 1

    # Configured later, the waiting mail goes out at once.
    assert await delivery.deliver_due(with_smtp(state, smtp_server.host, smtp_server.port)) == 1
    assert len(smtp_server.inbox.envelopes) == 1
