"""The subset of RFC 5545 recurrence rules monitoring orders use: FREQ, INTERVAL, COUNT, UNTIL, BYDAY, WKST."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Tuple

from sandbox.timefmt import parse_time

FREQUENCIES = ("HOURLY", "DAILY", "WEEKLY", "MONTHLY")
SUPPORTED_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "WKST")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = datetime.weekday()
# The first occurrence is an hour after the order's start (time to accept and plan it), and the
# order's span ends an hour after the last one: each occurrence sits in the middle of its own slot.
OCCURRENCE_LEAD = timedelta(hours=1)
# More would be a rule written by mistake (FREQ=HOURLY for a year); the service would refuse it too.
MAX_OCCURRENCES = 500
# A rule whose BYDAY never meets its frequency (HOURLY;INTERVAL=168;BYDAY=<another day>) never repeats:
# stop looking this far ahead rather than loop forever.
SEARCH_HORIZON = timedelta(days=5 * 366)
EXAMPLE = "e.g. FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TH;COUNT=6"

_BYDAY_ITEM = re.compile(r"^([+-]?)(\d{0,2})(MO|TU|WE|TH|FR|SA|SU)$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_COMPACT_DATE_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?$")


class RuleError(ValueError):
    """A recurrence rule the sandbox cannot accept; the message says which part and why."""


def _until(text: str) -> Optional[datetime]:
    """UNTIL as a UTC moment: RFC 5545 compact forms or ISO 8601; a date alone includes that whole day."""
    compact_date = _COMPACT_DATE.match(text)
    if compact_date or re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        numbers = compact_date.groups() if compact_date else text.split("-")
        try:
            day = datetime(*(int(n) for n in numbers), tzinfo=timezone.utc)
        except ValueError:
            return None
        return day + timedelta(days=1) - timedelta(seconds=1)
    compact = _COMPACT_DATE_TIME.match(text)
    if compact:
        try:
            return datetime(*(int(n) for n in compact.groups()), tzinfo=timezone.utc)
        except ValueError:
            return None
    return parse_time(text)


def _by_day(text: str, frequency: str) -> List[Tuple[Optional[int], int]]:
    """BYDAY as (ordinal or None, weekday index) pairs; ordinals ("1MO", "-1FR") only with FREQ=MONTHLY."""
    days: List[Tuple[Optional[int], int]] = []
    for item in text.split(","):
        match = _BYDAY_ITEM.match(item.strip().upper())
        if match is None:
            raise RuleError(f"BYDAY must list weekdays (MO, TU, WE, TH, FR, SA, SU), not {item!r}.")
        sign, number, weekday = match.groups()
        ordinal = None
        if number:
            ordinal = int(number) * (-1 if sign == "-" else 1)
            if frequency != "MONTHLY":
                raise RuleError(f"BYDAY {item} with a number is only allowed with FREQ=MONTHLY (RFC 5545).")
            if ordinal == 0 or abs(ordinal) > 5:
                raise RuleError(f"BYDAY {item}: a month has at most five of a weekday.")
        elif sign:
            raise RuleError(f"BYDAY must list weekdays (MO, TU, WE, TH, FR, SA, SU), not {item!r}.")
        days.append((ordinal, WEEKDAYS.index(weekday)))
    return days


def parse_rrule(text: Any) -> Dict[str, Any]:
    """The rule's parts (INTERVAL and COUNT as ints, UNTIL as a datetime, BYDAY as pairs); RuleError if invalid."""
    if not isinstance(text, str) or not text.strip():
        raise RuleError(f"The rule must be an RFC 5545 RRULE text, {EXAMPLE}.")
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    raw: Dict[str, str] = {}
    for part in body.split(";"):
        if not part.strip():
            continue  # "FREQ=DAILY;COUNT=3;" ends with a separator; tolerated as calendars do
        if "=" not in part:
            raise RuleError(f"Each part of the rule is NAME=VALUE, not {part!r} ({EXAMPLE}).")
        key, value = part.split("=", 1)
        raw[key.strip().upper()] = value.strip()
    unknown = sorted(set(raw) - set(SUPPORTED_PARTS))
    if unknown:
        raise RuleError(f"Rule part {', '.join(unknown)} is not supported; use {', '.join(SUPPORTED_PARTS)}.")
    frequency = raw.get("FREQ", "").upper()
    if frequency not in FREQUENCIES:
        raise RuleError(f"FREQ must be one of {', '.join(FREQUENCIES)} ({EXAMPLE}).")
    rule: Dict[str, Any] = {"FREQ": frequency}
    for name, default in (("INTERVAL", "1"), ("COUNT", None)):
        value = raw.get(name, default)
        if value is None:
            rule[name] = None
            continue
        if not value.isdigit() or int(value) < 1:
            raise RuleError(f"{name} must be a whole number of at least 1, not {value!r}.")
        rule[name] = int(value)
    rule["UNTIL"] = None
    if "UNTIL" in raw:
        rule["UNTIL"] = _until(raw["UNTIL"])
        if rule["UNTIL"] is None:
            raise RuleError(f"UNTIL must be a UTC date-time such as 20250630T120000Z, not {raw['UNTIL']!r}.")
    if rule["COUNT"] is None and rule["UNTIL"] is None:
        # The rule is the order's span (end_time is ignored): a rule without an end has no span.
        raise RuleError("The rule must end: give COUNT or UNTIL (a monitoring order's span comes from its rule).")
    rule["BYDAY"] = _by_day(raw["BYDAY"], frequency) if raw.get("BYDAY") else []
    week_start = raw.get("WKST", "MO").upper()
    if week_start not in WEEKDAYS:
        raise RuleError(f"WKST must be a weekday (MO ... SU), not {raw['WKST']!r}.")
    rule["WKST"] = WEEKDAYS.index(week_start)
    return rule


def _month_days(year: int, month: int, anchor: datetime, by_day: List[Tuple[Optional[int], int]]) -> List[datetime]:
    """The occurrences of one month of a MONTHLY rule, at the anchor's time of day."""
    length = calendar.monthrange(year, month)[1]
    at = anchor.replace(year=year, month=month, day=1)
    if not by_day:
        return [at.replace(day=anchor.day)] if anchor.day <= length else []  # RFC 5545: no 31st, no occurrence
    days = set()
    for ordinal, weekday in by_day:
        matching = [d for d in range(1, length + 1) if calendar.weekday(year, month, d) == weekday]
        if ordinal is None:
            days.update(matching)
        elif abs(ordinal) <= len(matching):
            days.add(matching[ordinal - 1] if ordinal > 0 else matching[ordinal])
    return [at.replace(day=d) for d in sorted(days)]


def _candidates(rule: Dict[str, Any], anchor: datetime) -> Iterator[datetime]:
    """The rule's moments from the anchor's period on, in time order (BYDAY applied, COUNT/UNTIL not)."""
    frequency, interval = rule["FREQ"], rule["INTERVAL"]
    weekdays = {weekday for _, weekday in rule["BYDAY"]}
    period = 0
    while True:
        if frequency in ("HOURLY", "DAILY"):
            step = timedelta(hours=interval) if frequency == "HOURLY" else timedelta(days=interval)
            moment = anchor + step * period
            # BYDAY limits an hourly or daily rule to those weekdays.
            batch = [moment] if not weekdays or moment.weekday() in weekdays else []
            horizon = moment
        elif frequency == "WEEKLY":
            week_start = anchor - timedelta(days=(anchor.weekday() - rule["WKST"]) % 7)
            week = week_start + timedelta(weeks=interval * period)
            days = weekdays or {anchor.weekday()}  # BYDAY expands a weekly rule to those days of its week
            batch = sorted(week + timedelta(days=(d - rule["WKST"]) % 7) for d in days)
            horizon = week
        else:
            month_index = anchor.month - 1 + interval * period
            year, month = anchor.year + month_index // 12, month_index % 12 + 1
            batch = _month_days(year, month, anchor, rule["BYDAY"])
            horizon = anchor.replace(year=year, month=month, day=1)
        if horizon - anchor > SEARCH_HORIZON:
            return
        for moment in batch:
            if moment >= anchor:
                yield moment
        period += 1


def rrule_occurrences(text: str, start: datetime) -> List[datetime]:
    """Acquisition times of a monitoring order starting at `start`: the rule's occurrences from an hour
    after start, as many as COUNT and none after UNTIL. RuleError if it has none or too many."""
    rule = parse_rrule(text)
    result: List[datetime] = []
    for moment in _candidates(rule, start + OCCURRENCE_LEAD):
        if rule["UNTIL"] is not None and moment > rule["UNTIL"]:
            break
        if rule["COUNT"] is not None and len(result) >= rule["COUNT"]:
            break
        if len(result) >= MAX_OCCURRENCES:
            raise RuleError(f"The rule repeats more than {MAX_OCCURRENCES} times; lower COUNT or an earlier UNTIL.")
        result.append(moment)
    if not result:
        raise RuleError("The rule has no occurrence after the order's start_time (check UNTIL and BYDAY).")
    return result


def monitoring_span(text: str, start: datetime) -> Tuple[List[datetime], datetime]:
    """A monitoring order's occurrences and its end_time: an hour after the last occurrence."""
    occurrences = rrule_occurrences(text, start)
    return occurrences, occurrences[-1] + OCCURRENCE_LEAD
