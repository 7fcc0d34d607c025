"""vitrine_sdk.webhooks: one test per reason a webhook is refused, and the cases that pass."""

import hashlib
import hmac
import json

import pytest
from vitrine_sdk import WebhookVerificationError, webhooks

SECRET = "whsec_test"
NOW = 1_700_000_000
EVENT = {"type": "order.paid", "data": {"order_id": 42}}
BODY = json.dumps(EVENT).encode()


def hand_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The documented scheme, computed here rather than by the SDK's own sign()."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def refusal(
    header: str | None, body: bytes | str = BODY, *, secret: str = SECRET, now: float = NOW
) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        webhooks.verify(body, header, secret, now=now)
    return caught.value.reason


# --- accepted -------------------------------------------------------------------------------


def test_accepts_a_header_built_by_hand_and_returns_the_event() -> None:
    header = f"t={NOW},v1={hand_signature(BODY, SECRET, NOW)}"
    assert webhooks.verify(BODY, header, SECRET, now=NOW) == EVENT


def test_sign_produces_the_documented_header() -> None:
    assert webhooks.sign(BODY, SECRET, NOW) == f"t={NOW},v1={hand_signature(BODY, SECRET, NOW)}"


def test_accepts_a_str_payload() -> None:
    text = '{"type": "ticket.created", "title": "Caf\u00e9"}'
    header = webhooks.sign(text, SECRET, NOW)
    assert webhooks.verify(text, header, SECRET, now=NOW)["title"] == "Caf\u00e9"
    assert webhooks.verify(text.encode(), header, SECRET, now=NOW)["title"] == "Caf\u00e9"


def test_accepts_any_matching_signature_during_key_rotation() -> None:
    old = hand_signature(BODY, "whsec_old", NOW)
    new = hand_signature(BODY, SECRET, NOW)
    assert webhooks.verify(BODY, f"t={NOW},v1={old},v1={new}", SECRET, now=NOW) == EVENT


def test_ignores_unknown_schemes_and_spaces() -> None:
    header = f"t={NOW}, v0=abc, v1={hand_signature(BODY, SECRET, NOW)}"
    assert webhooks.verify(BODY, header, SECRET, now=NOW) == EVENT


@pytest.mark.parametrize("offset", [-300, 300])
def test_accepts_a_timestamp_at_the_edge_of_the_tolerance(offset: int) -> None:
    header = webhooks.sign(BODY, SECRET, NOW)
    assert webhooks.verify(BODY, header, SECRET, now=NOW + offset) == EVENT


def test_signs_with_the_current_time_by_default() -> None:
    header = webhooks.sign(BODY, SECRET)
    assert webhooks.verify(BODY, header, SECRET, tolerance=5) == EVENT  # against the real clock


# --- refused --------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "", "  "])
def test_refuses_a_missing_header(header: str | None) -> None:
    assert refusal(header) == "missing_header"


@pytest.mark.parametrize(
    "header",
    ["garbage", "v1=abc", "t=soon,v1=abc", "t=1,t=2,v1=abc", "t=-5,v1=abc", f"t={'9' * 5000}"],
)
def test_refuses_a_malformed_header(header: str) -> None:
    assert refusal(header) == "malformed_header"


@pytest.mark.parametrize("header", [f"t={NOW}", f"t={NOW},v0=abc"])
def test_refuses_a_header_without_v1_signature(header: str) -> None:
    assert refusal(header) == "no_signature"


def test_refuses_a_timestamp_that_is_too_old() -> None:
    assert refusal(webhooks.sign(BODY, SECRET, NOW - 301)) == "timestamp_outside_tolerance"


def test_refuses_a_timestamp_too_far_in_the_future() -> None:
    assert refusal(webhooks.sign(BODY, SECRET, NOW + 301)) == "timestamp_outside_tolerance"


def test_honours_a_custom_tolerance() -> None:
    header = webhooks.sign(BODY, SECRET, NOW - 10)
    with pytest.raises(WebhookVerificationError, match="more than the 5 s allowed"):
        webhooks.verify(BODY, header, SECRET, tolerance=5, now=NOW)


def test_refuses_a_signature_made_with_another_secret() -> None:
    assert refusal(webhooks.sign(BODY, "whsec_other", NOW)) == "signature_mismatch"


def test_refuses_a_tampered_body() -> None:
    header = webhooks.sign(BODY, SECRET, NOW)
    tampered = BODY.replace(b"42", b"43")
    assert refusal(header, tampered) == "signature_mismatch"


def test_refuses_a_non_ascii_signature_without_crashing() -> None:
    assert refusal(f"t={NOW},v1=\u00e9\ud800") == "signature_mismatch"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_refuses_a_signed_body_that_is_not_a_json_object(body: bytes) -> None:
    assert refusal(webhooks.sign(body, SECRET, NOW), body) == "invalid_payload"


def test_an_empty_secret_is_a_configuration_error() -> None:
    header = f"t={NOW},v1={hand_signature(BODY, 'x', NOW)}"
    with pytest.raises(ValueError, match="secret is empty"):
        webhooks.verify(BODY, header, "", now=NOW)
    with pytest.raises(ValueError, match="secret is empty"):
        webhooks.sign(BODY, "")


def test_the_header_name_is_exposed() -> None:
    assert webhooks.SIGNATURE_HEADER == "Vitrine-Signature"
