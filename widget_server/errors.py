"""The errors a client can cause, and the one shape every one of them is rendered in.

::

    VitrineError (500 internal_error: only ever raised for bugs)
    ├── BadRequest          400 bad_request
    ├── Unauthorized        401 unauthorized
    ├── Forbidden           403 forbidden
    │   └── CsrfFailed      403 csrf_failed
    ├── NotFound            404 not_found
    ├── MethodNotAllowed    405 method_not_allowed
    ├── Conflict            409 conflict
    ├── PayloadTooLarge     413 payload_too_large
    ├── InvalidRequest      422 invalid_request (details: one entry per broken rule)
    ├── TooManyRequests     429 rate_limited
    └── ServiceUnavailable  503 unavailable

Under ``/api/`` (and for any client that does not ask for HTML) the body is
``{"error": {"status", "code", "message", "details"}}``; pages render ``error.html``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from widget_server.i18n import N_


class VitrineError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = N_("Something went wrong on our side.")

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or []
        self.error_code = code or self.code
        self.headers = headers or {}
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "status": self.status,
                "code": self.error_code,
                "message": self.message,
                "details": self.details,
            }
        }


class BadRequest(VitrineError):
    status = 400
    code = "bad_request"
    default_message = N_("The request could not be understood.")


class Unauthorized(VitrineError):
    status = 401
    code = "unauthorized"
    default_message = N_("Authentication is required.")


class Forbidden(VitrineError):
    status = 403
    code = "forbidden"
    default_message = N_("You are not allowed to do this.")


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    default_message = N_("The form has expired or did not come from this site. Reload and retry.")


class NotFound(VitrineError):
    status = 404
    code = "not_found"
    default_message = N_("Nothing was found here.")


class MethodNotAllowed(VitrineError):
    status = 405
    code = "method_not_allowed"
    default_message = N_("This method is not allowed here.")


class Conflict(VitrineError):
    status = 409
    code = "conflict"
    default_message = N_("This conflicts with the current state.")


class PayloadTooLarge(VitrineError):
    status = 413
    code = "payload_too_large"
    default_message = N_("The request body is too large.")


class InvalidRequest(VitrineError):
    status = 422
    code = "invalid_request"
    default_message = N_("Some fields are not valid.")


class TooManyRequests(VitrineError):
    status = 429
    code = "rate_limited"
    default_message = N_("Too many requests. Try again later.")

    def __init__(self, message: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(VitrineError):
    status = 503
    code = "unavailable"
    default_message = N_("The service is not available right now.")


def field_error(field: str, message: str, code: str = "invalid") -> dict[str, Any]:
    """One entry of ``details``: which field broke which rule."""
    return {"field": field, "code": code, "message": message}


def invalid(field: str, message: str, code: str = "invalid") -> InvalidRequest:
    return InvalidRequest(message, details=[field_error(field, message, code)])
