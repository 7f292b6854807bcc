"""Time formats of the service: output as 2020-03-23T12:26:35.820963Z, input as ISO 8601 (date-only allowed in filters)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def format_time(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object, *, allow_date_only: bool = False) -> Optional[datetime]:
    """ISO text -> aware UTC datetime, or None when it is not a valid date/time."""
    if not isinstance(text, str):
        return None
    match = _ISO.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if hour is None and not allow_date_only:
        return None
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if zone in (None, "Z", "z"):
        return moment.replace(tzinfo=timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    offset_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
    from datetime import timedelta

    return (moment - timedelta(minutes=offset_minutes)).replace(tzinfo=timezone.utc)


def to_epoch(value: datetime) -> float:
    return value.timestamp()


def from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=timezone.utc)
