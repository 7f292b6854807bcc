"""Errors the API answers with: field errors `{"field": ["message"]}` or `{"detail": "message"}`."""

from __future__ import annotations

from typing import Dict, List, Optional

REQUIRED = "This field is required."
BAD_DATETIME = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


class ApiError(Exception):
    """An HTTP error answer with its JSON body."""

    def __init__(self, status: int, body: dict, headers: Optional[Dict[str, str]] = None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, message: str) -> ApiError:
    return ApiError(status, {"detail": message})


def not_found() -> ApiError:
    return ApiError(404, {"detail": "Not found."})


def not_an_object(value: object) -> ApiError:
    """DRF's 400 for a body (or bulk payload) that is JSON but not an object."""
    return ApiError(400, {"non_field_errors": [
        f"Invalid data. Expected a dictionary, but got {type(value).__name__}."]})


class FieldErrors:
    """Collects validation messages per field; `raise_if_any` turns them into a 400."""

    def __init__(self) -> None:
        self.errors: Dict[str, List[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def has(self, field: str) -> bool:
        return field in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ApiError(400, dict(self.errors))
