"""E-mail: rendering a template into subject, text and HTML, and sending one message over SMTP.

A template ``name`` is three files in ``outbox/templates/mail/``: ``name.subject.txt``,
``name.txt`` and ``name.html`` (which usually extends ``mail/layout.html``). They are rendered in
the recipient's language when the message is queued; the sender and Message-ID are applied when
it is sent.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib

from widget_server import i18n
from widget_server.outbox.store import AttemptResult
from widget_server.settings import SmtpSettings
from widget_server.templating import render_text

TIMEOUT_SECONDS = 30.0


# The wait after the 1st, 2nd, … failed attempt (6 attempts in about 4.5 h).
BACKOFF = tuple(timedelta(seconds=s) for s in (60, 300, 900, 3600, 10800))


def compose(template: str, context: dict[str, Any], language: str) -> dict[str, str]:
    """Subject, text and HTML of a mail template, in ``language``."""
    base = f"outbox/mail/{template}"
    with i18n.language(language):
        subject = render_text(f"{base}.subject.txt", **context)
        text = render_text(f"{base}.txt", **context)
        html = render_text(f"{base}.html", **context)
    # A subject is one line, whatever the template's whitespace.
    return {"subject": " ".join(subject.split()), "text": text.strip() + "\n", "html": html}


def build_message(
    *, payload: dict[str, Any], to: str, mail_from: str, message_key: str
) -> EmailMessage:
    """multipart/alternative: the text part first, the HTML part as the preferred one."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = mail_from
    message["To"] = to
    message["Date"] = formatdate(localtime=False, usegmt=True)
    # Stable across retries, so a receiving server can drop a duplicate.
    message["Message-ID"] = f"<{message_key}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(payload["text"])
    message.add_alternative(payload["html"], subtype="html")
    return message


async def send(smtp: SmtpSettings, message: EmailMessage) -> AttemptResult:
    """One SMTP delivery attempt; never raises for what the server or the network does.

    A refusal of the recipient with a 5xx reply is permanent (retrying cannot help); everything
    else, including authentication problems the admin can still fix, is worth retrying.
    """
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):  # the whole session, not each command
            await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                use_tls=smtp.use_tls,
                start_tls=smtp.start_tls,
                timeout=TIMEOUT_SECONDS,
            )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [refused.code for refused in exc.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        return AttemptResult(
            ok=False,
            status_code=codes[0] if codes else None,
            error=f"Recipient refused: {text}",
            permanent=bool(codes) and all(code >= 500 for code in codes),
        )
    except aiosmtplib.SMTPResponseException as exc:
        return AttemptResult(ok=False, status_code=exc.code, error=f"{exc.code} {exc.message}")
    except TimeoutError:
        return AttemptResult(ok=False, error=f"No answer within {TIMEOUT_SECONDS:.0f} s.")
    except (aiosmtplib.SMTPException, OSError) as exc:
        return AttemptResult(ok=False, error=f"{type(exc).__name__}: {exc}")
    return AttemptResult(ok=True, status_code=250)  # the server accepted the message
