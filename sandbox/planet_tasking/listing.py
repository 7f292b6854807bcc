"""List endpoints: django-filter style filters, DRF ordering, and limit/offset pages with absolute URLs."""

from __future__ import annotations

import uuid
from typing import Callable, Dict, List, Optional, Sequence
from urllib.parse import parse_qsl, urlencode

from sandbox.errors import ApiError
from sandbox.timefmt import format_time, parse_time

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
LOOKUPS = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}


def _choice_error(value: str) -> str:
    return f"Select a valid choice. {value} is not one of the available choices."


class FilterSpec:
    """What a list endpoint filters on: exact text fields, choice fields, time fields, id lists, booleans."""

    def __init__(self, *, exact: Sequence[str] = (), icontains: Sequence[str] = (),
                 choices: Optional[Dict[str, Sequence[str]]] = None, times: Sequence[str] = (),
                 uuid_lists: Sequence[str] = (), booleans: Sequence[str] = (), orderable: Sequence[str] = ()):
        self.exact = exact
        self.icontains = icontains
        self.choices = choices or {}
        self.times = times
        self.uuid_lists = uuid_lists
        self.booleans = booleans
        self.orderable = orderable


def build_predicates(params: Dict[str, str], spec: FilterSpec) -> List[Callable[[dict], bool]]:
    """Predicates for the query; unknown parameters are ignored, malformed values are a 400 per parameter."""
    errors: Dict[str, List[str]] = {}
    predicates: List[Callable[[dict], bool]] = []
    for name, value in params.items():
        if name in spec.exact:
            predicates.append(lambda o, f=name, v=value: o.get(f) == v)
        elif name.endswith("__icontains") and name[: -len("__icontains")] in spec.icontains:
            field = name[: -len("__icontains")]
            needle = value.lower()
            predicates.append(lambda o, f=field, v=needle: v in str(o.get(f) or "").lower())
        elif name in spec.choices or (name.endswith("__in") and name[:-4] in spec.choices):
            field = name[:-4] if name.endswith("__in") else name
            wanted = [v for v in value.split(",") if v] if name.endswith("__in") else [value]
            bad = [v for v in wanted if v not in spec.choices[field]]
            if bad:
                errors[name] = [_choice_error(bad[0])]
                continue
            predicates.append(lambda o, f=field, w=frozenset(wanted): o.get(f) in w)
        elif name in spec.uuid_lists:
            wanted = [v.strip() for v in value.split(",") if v.strip()]
            try:
                # A value with no id at all ("", ",", " ") is as malformed as "not-a-uuid": a 400, like a
                # blank status or date, rather than a filter that silently matches nothing.
                if not wanted:
                    raise ValueError(value)
                wanted = [str(uuid.UUID(v)) for v in wanted]
            except ValueError:
                errors[name] = ["Enter a valid UUID."]
                continue
            predicates.append(lambda o, f=name, w=frozenset(wanted): o.get(f) in w)
        elif name in spec.booleans:
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0"):
                errors[name] = ["Select a valid choice. {} is not one of the available choices.".format(value)]
                continue
            predicates.append(lambda o, f=name, w=lowered in ("true", "1"): bool(o.get(f)) == w)
        elif "__" in name and name.rsplit("__", 1)[0] in spec.times and name.rsplit("__", 1)[1] in LOOKUPS:
            field, lookup = name.rsplit("__", 1)
            moment = parse_time(value, allow_date_only=True)
            if moment is None:
                errors[name] = ["Enter a valid date/time."]
                continue
            bound, compare = format_time(moment), LOOKUPS[lookup]
            predicates.append(lambda o, f=field, b=bound, c=compare: o.get(f) is not None and c(o[f], b))
        elif name in spec.times:
            moment = parse_time(value, allow_date_only=True)
            if moment is None:
                errors[name] = ["Enter a valid date/time."]
                continue
            exact_bound = format_time(moment)
            predicates.append(lambda o, f=name, b=exact_bound: o.get(f) == b)
    if errors:
        raise ApiError(400, errors)
    return predicates


def _sort_key_value(value):
    # None sorts first ascending (as PostgreSQL NULLS FIRST on DESC is not promised either way).
    return (value is not None, value if value is not None else 0)


def order_objects(objects: List[dict], ordering: Optional[str], spec: FilterSpec, default: str) -> List[dict]:
    keys = []
    for term in (ordering or "").split(","):
        term = term.strip()
        if term and term.lstrip("-") in spec.orderable:
            keys.append(term)
    if not keys:
        keys = [k for k in default.split(",") if k]
    # Stable multi-key sort: apply keys from the least to the most significant, creation order breaking ties.
    result = sorted(objects, key=lambda o: o["_seq"], reverse=keys[0].startswith("-"))
    for term in reversed(keys):
        field = term.lstrip("-")
        result.sort(key=lambda o, f=field: _sort_key_value(o.get(f)), reverse=term.startswith("-"))
    return result


def _positive_int(text: Optional[str], default: int, cap: Optional[int] = None, strict: bool = False) -> int:
    try:
        number = int(text) if text is not None else default
        if number < 0 or (strict and number == 0):
            raise ValueError
    except ValueError:
        return default
    return min(number, cap) if cap else number


def paginate(objects: List[dict], query: str, base_url: str, render: Callable[[dict], dict]) -> dict:
    """DRF LimitOffsetPagination: count, next, previous (absolute URLs keeping the other parameters), results."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    limit = _positive_int(params.get("limit"), DEFAULT_LIMIT, MAX_LIMIT, strict=True)
    offset = _positive_int(params.get("offset"), 0)
    count = len(objects)
    pairs = parse_qsl(query, keep_blank_values=True)

    def url_with(new_offset: Optional[int]) -> str:
        kept = [(k, v) for k, v in pairs if k not in ("limit", "offset")]
        kept.append(("limit", str(limit)))
        if new_offset:
            kept.append(("offset", str(new_offset)))
        return base_url + "?" + urlencode(kept)

    next_url = url_with(offset + limit) if offset + limit < count else None
    previous_url = None
    if offset > 0:
        previous_url = url_with(max(offset - limit, 0)) if offset - limit > 0 else url_with(None)
    return {
        "count": count,
        "next": next_url,
        "previous": previous_url,
        "results": [render(o) for o in objects[offset: offset + limit]],
    }


def select_fields(document: dict, fields_param: Optional[str]) -> dict:
    if not fields_param:
        return document
    wanted = [f.strip() for f in fields_param.split(",") if f.strip()]
    return {k: document[k] for k in wanted if k in document}
