"""Typed errors of the service clients, each with a message a user can act on and no secret in it."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from .log import redact, redact_value


def field_errors_from_body(body: Any) -> Dict[str, List[str]]:
    """The per-field messages of a 400 answer, as the server sent them: {"geometry": ["..."]}.

    The service answers in Django REST framework's shape; a bare string or a list of strings is kept
    under "non_field_errors", and a text body holding JSON (as a bulk payload's `error` does) is read.
    """
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        if text[:1] in ("{", "["):
            try:
                body = json.loads(text)
            except ValueError:
                return {"non_field_errors": [text]} if text else {}
        else:
            return {"non_field_errors": [text]} if text else {}
    if isinstance(body, list):
        return {"non_field_errors": [_message_text(item) for item in body]}
    if not isinstance(body, dict):
        return {} if body is None else {"non_field_errors": [str(body)]}
    errors: Dict[str, List[str]] = {}
    for name, value in body.items():
        if isinstance(value, list):
            errors[str(name)] = [_message_text(item) for item in value]
        else:
            errors[str(name)] = [_message_text(value)]
    return errors


def field_errors_text(field_errors: Dict[str, List[str]]) -> str:
    """Field errors as one sentence: "geometry: …; start_time: …" (general messages without a name)."""
    return "; ".join(" ".join(msgs) if name in ("non_field_errors", "detail") else f"{name}: {' '.join(msgs)}"
                     for name, msgs in field_errors.items())


def _message_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, inner),) = value.items()
        # {"error": "..."} and {"detail": "..."} are wrappers, not field names.
        if key in ("error", "detail", "message"):
            return _message_text(inner)
    if isinstance(value, list):
        return "; ".join(_message_text(v) for v in value)
    return json.dumps(value, sort_keys=True)


class ServiceError(Exception):
    """Base of everything the service clients and workflows raise on purpose."""


class CredentialError(ServiceError, ValueError):
    """An API key or service URL that cannot be used safely (a line break in the key, a key in the URL).

    The message says what is wrong and where, never the key itself: it is shown to the user and logged.
    """

    def __init__(self, message: str):
        super().__init__(redact(message))


class ApiError(ServiceError):
    """The service (or the way to it) did not give the answer asked for.

    `status` is the HTTP status (None when no answer arrived), `body` the server's answer (decoded JSON
    when it was JSON, else its text), `message` a sentence for the user. The API key never appears in
    any of them: the transport redacts bodies before building an error.
    """

    default_message = "The request to the tasking service failed."

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        status: Optional[int] = None,
        body: Any = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
        maybe_processed: bool = False,
    ):
        # Masked here, whoever raises: a message or an answer may quote the key in any of its forms.
        self.message = redact(message or self.default_message)
        self.status = status
        self.body = redact_value(body)
        self.method = method
        self.url = redact(url) if url is not None else None
        # True when the request may have reached the service and been acted on although no good
        # answer came back (a dropped connection after sending, a read timeout, a gateway error):
        # the one case where a create must be looked up before it is sent again.
        self.maybe_processed = maybe_processed
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"

    @property
    def server_detail(self) -> Optional[str]:
        """The server's own one-line explanation, when it gave one."""
        return detail_text(self.body)


def detail_text(body: Any) -> Optional[str]:
    """The human text in an error body: DRF's `detail`, a `message`/`error`, or the field messages."""
    if body is None or body == "":
        return None
    if isinstance(body, dict):
        for key in ("detail", "message", "error", "error_message"):
            if key in body:
                return _message_text(body[key])
        return field_errors_text(field_errors_from_body(body)) or None
    if isinstance(body, list):
        return "; ".join(_message_text(item) for item in body) or None
    text = str(body).strip()
    # An HTML error page from a gateway is noise to a user; keep short plain text only.
    if text.startswith("<") or len(text) > 500:
        return None
    return text or None


class AuthenticationError(ApiError):
    """401 or 403: the key is missing, wrong, or not allowed to do this."""

    default_message = "The tasking service rejected the API key. Check the key in the plugin's settings."


class NotFoundError(ApiError):
    """404: the order, search, bulk or page does not exist (or belongs to another organisation)."""

    default_message = "The tasking service has no such item (it may belong to another account)."


class ConflictError(ApiError):
    """409: the request conflicts with the item's current state."""

    default_message = "The request conflicts with the current state of the item."


class ValidationError(ApiError):
    """400: the server refused the request's content; `field_errors` holds its messages per field."""

    default_message = "The tasking service refused the request."

    def __init__(self, message: Optional[str] = None, *, field_errors: Optional[Dict[str, List[str]]] = None, **kwargs):
        super().__init__(message, **kwargs)
        self.field_errors: Dict[str, List[str]] = dict(field_errors or {})

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, field_errors={self.field_errors!r})"


class CancellationChargeRequired(ValidationError):
    """400 on a cancel: the contract's free cancellations are used up; retry with the charge accepted.

    planet-tasking-api.txt ("Charged cancellation"): the request is rejected with 400 and an error
    message unless `accept_cancellation_charge=true` is given.
    """

    default_message = (
        "Cancelling this order will be charged: the contract's free cancellations are used up. "
        "Confirm the cancellation charge to cancel it."
    )


class RateLimitedError(ApiError):
    """429: too many requests; `retry_after` is the wait in seconds the server asked for, if any."""

    default_message = "The tasking service is receiving too many requests. Wait a moment and try again."

    def __init__(self, message: Optional[str] = None, *, retry_after: Optional[float] = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the service (or a gateway before it) failed."""

    default_message = "The tasking service had an internal problem. Try again later."


class NetworkError(ApiError):
    """No usable answer: connection refused or dropped, timeout, proxy trouble, or an unreadable body."""

    default_message = "The tasking service could not be reached. Check the network and QGIS's proxy settings."


class RequestTimeoutError(NetworkError):
    """The service did not answer within the timeout."""


class MalformedResponseError(NetworkError):
    """An answer arrived but its body was not the JSON the documents describe."""


class ProxyConfigurationError(NetworkError):
    """QGIS's proxy settings cannot be applied (a type HTTP cannot use, or a missing package)."""


class OrderCreationUncertain(ApiError):
    """A create may or may not have reached the service and looking it up could not settle which.

    Raised instead of sending the order again, so that no duplicate order is ever made blindly;
    `candidates` holds the ids of the orders that could be the one sent.
    """

    default_message = (
        "The connection failed while the order was being sent and it is not certain whether the order "
        "was created. Check the order list before sending it again."
    )

    def __init__(self, message: Optional[str] = None, *, candidates: Optional[List[str]] = None, **kwargs):
        super().__init__(message, **kwargs)
        self.candidates = list(candidates or [])


class ImagingWindowSearchFailed(ApiError):
    """An imaging-window search finished with status FAILED; the server's error code and text are kept."""

    default_message = "The imaging-window search failed."

    def __init__(self, message: Optional[str] = None, *, error_code: Optional[str] = None, **kwargs):
        super().__init__(message, **kwargs)
        self.error_code = error_code


class WaitTimeout(ServiceError):
    """Waiting for asynchronous work (a search, a bulk) took longer than allowed."""


class Cancelled(ServiceError):
    """The user cancelled a long call (a wait, a paged listing) before it finished."""
