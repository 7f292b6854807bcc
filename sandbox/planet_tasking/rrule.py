"""The subset of RFC 5545 recurrence rules monitoring orders use: FREQ, INTERVAL, COUNT, UNTIL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from sandbox.timefmt import parse_time


def parse_rrule(text: str) -> Optional[dict]:
    """The rule's parts (INTERVAL and COUNT as ints, UNTIL as a datetime) or None if invalid."""
    if not isinstance(text, str):
        return None
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    rule: Dict[str, Any] = {}
    for part in body.split(";"):
        if "=" not in part:
            return None
        key, value = part.split("=", 1)
        rule[key.strip().upper()] = value.strip()
    if rule.get("FREQ", "").upper() not in ("HOURLY", "DAILY", "WEEKLY", "MONTHLY"):
        return None
    try:
        rule["INTERVAL"] = int(rule.get("INTERVAL", 1))
        rule["COUNT"] = int(rule["COUNT"]) if "COUNT" in rule else None
    except ValueError:
        return None
    if "UNTIL" in rule:
        until = parse_time(rule["UNTIL"], allow_date_only=True)
        if until is None:
            text_until = rule["UNTIL"]
            if len(text_until) >= 15:
                until = parse_time(f"{text_until[0:4]}-{text_until[4:6]}-{text_until[6:8]}T"
                                   f"{text_until[9:11]}:{text_until[11:13]}:{text_until[13:15]}Z")
        if until is None:
            return None
        rule["UNTIL"] = until
    return rule


def rrule_occurrences(text: str, start: datetime, end: datetime, limit: int = 500) -> List[datetime]:
    """Acquisition times of a monitoring order: one per occurrence from an hour after start, up to end."""
    rule = parse_rrule(text)
    if rule is None:
        return []
    step = {"HOURLY": timedelta(hours=1), "DAILY": timedelta(days=1), "WEEKLY": timedelta(weeks=1),
            "MONTHLY": timedelta(days=30)}[rule["FREQ"].upper()] * max(1, rule["INTERVAL"])
    until = min(end, rule.get("UNTIL") or end)
    result: List[datetime] = []
    moment = start + timedelta(hours=1)
    while moment <= until and len(result) < limit and (rule["COUNT"] is None or len(result) < rule["COUNT"]):
        result.append(moment)
        moment += step
    return result

