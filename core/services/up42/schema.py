"""A data product's JSON Schema made into a tree of fields for a form ($ref resolved, allOf merged, anyOf/oneOf
as alternatives, unknown constructs kept as raw JSON), and values validated against it with errors by field path."""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

# Field kinds a form knows how to edit; anything else is RAW (a JSON text, never dropped).
OBJECT, CHOICE, ENUM, BOOLEAN, INTEGER, NUMBER, STRING, DATETIME, DATE, RAW = (
    "object", "choice", "enum", "boolean", "integer", "number", "string", "date-time", "date", "raw")
# Keywords whose meaning a form cannot show as a widget: a property using one is edited as raw JSON.
_UNFORMABLE = ("not", "if", "then", "else", "patternProperties", "dependencies", "dependentSchemas",
               "dependentRequired", "propertyNames", "contains", "unevaluatedProperties", "additionalItems")
# Of those, the ones that only add rules to an object whose properties are declared: the properties are
# still shown as widgets, and the rules are checked when validating.
_OBJECT_RULES = ("if", "then", "else", "patternProperties", "dependencies", "dependentSchemas",
                 "dependentRequired", "propertyNames", "unevaluatedProperties")
_MAX_DEPTH = 32  # deeper than any real order form: a recursive $ref stops here, as a raw field
_NUMBER_TYPES = ("integer", "number")


class SchemaError(ValueError):
    """A schema that cannot be read at all (not an object, or a $ref that names nothing)."""


@dataclass
class Field:
    """One order parameter as a form shows it; `path` is its place in the params ("incidenceAngle.minimum").

    `kind` is one of the kinds above; `children` the fields of an OBJECT, `alternatives` the choices of a
    CHOICE (anyOf/oneOf: `combinator`), `schema` the resolved sub-schema the field came from (a RAW field's
    whole meaning, kept so that nothing of the schema is lost)."""

    name: str
    path: str
    kind: str
    title: str
    description: str = ""
    required: bool = False
    enum: Optional[List[Any]] = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    multiple_of: Optional[float] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    pattern: Optional[str] = None
    format: Optional[str] = None
    default: Any = None
    has_default: bool = False
    children: List["Field"] = field(default_factory=list)
    alternatives: List["Field"] = field(default_factory=list)
    combinator: Optional[str] = None
    schema: Dict[str, Any] = field(default_factory=dict)

    def walk(self):
        """This field and every field below it (children and alternatives), depth first."""
        yield self
        for child in self.children + self.alternatives:
            yield from child.walk()

    def find(self, path: str) -> Optional["Field"]:
        return next((f for f in self.walk() if f.path == path), None)


def humanize(name: str) -> str:
    """A property name as a label: "cloudCoverage" -> "Cloud coverage", "max_bh" -> "Max bh"."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name)).replace("_", " ").split()
    text = " ".join(w if (w.isupper() and len(w) > 1) else w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else str(name)


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Resolver:
    """Resolves the local references (`#/definitions/X`, `#/$defs/X`, any JSON pointer) of one schema."""

    def __init__(self, root: Dict[str, Any]):
        if not isinstance(root, dict):
            raise SchemaError("a JSON Schema must be an object")
        self.root = root

    def lookup(self, ref: str) -> Optional[Dict[str, Any]]:
        """The schema `ref` names, or None when it is not a local reference that resolves."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        node: Any = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node if isinstance(node, dict) else None

    def deref(self, schema: Any, depth: int = 0) -> Tuple[Dict[str, Any], bool]:
        """`schema` with its $ref chain followed (sibling keywords kept over the target's); (schema, resolved)."""
        if not isinstance(schema, dict):
            return {}, isinstance(schema, bool)
        seen = 0
        while "$ref" in schema:
            target = self.lookup(schema["$ref"])
            seen += 1
            if target is None or seen > _MAX_DEPTH or depth > _MAX_DEPTH:
                return schema, False
            merged = dict(target)
            merged.update({k: v for k, v in schema.items() if k != "$ref"})
            schema = merged
        return schema, True

    def flatten(self, schema: Any, depth: int = 0) -> Tuple[Dict[str, Any], bool]:
        """`schema` dereferenced and its allOf merged into one; (schema, everything resolved)."""
        schema, ok = self.deref(schema, depth)
        if not ok or "allOf" not in schema:
            return schema, ok
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"] if isinstance(schema["allOf"], list) else []:
            flat, part_ok = self.flatten(part, depth + 1)
            ok = ok and part_ok
            merged = merge(merged, flat)
        return merged, ok


def merge(a: Dict[str, Any], b: Dict[str, Any]) -> Dict[str, Any]:
    """Two schemas that must both hold, as one (allOf): properties merged, required joined, bounds the tighter,
    enums intersected; a second anyOf/oneOf is kept under allOf so that validation still applies it."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties":
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props and props[name] != sub else sub
            out[key] = props
        elif key == "required":
            out[key] = list(dict.fromkeys(list(out[key]) + list(value)))
        elif key in ("minimum", "exclusiveMinimum", "minLength", "minItems") and _is_number(value):
            out[key] = max(out[key], value) if _is_number(out[key]) else value
        elif key in ("maximum", "exclusiveMaximum", "maxLength", "maxItems") and _is_number(value):
            out[key] = min(out[key], value) if _is_number(out[key]) else value
        elif key == "enum" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = [v for v in out[key] if v in value]
        elif key in ("anyOf", "oneOf", "not") and out[key] != value:
            out["allOf"] = list(out.get("allOf", [])) + [{key: value}]
        elif key in ("title", "description", "default"):
            continue  # the first part's words win
        else:
            out[key] = value
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -----------------------------------------------------------------------------------------------
# The tree of fields
# -----------------------------------------------------------------------------------------------

def fields_of(schema: Dict[str, Any]) -> Field:
    """The root OBJECT field of a product's params schema (raises SchemaError when it is not an object)."""
    resolver = Resolver(schema)
    root = _field(resolver, schema, "", "", True, 0, ())
    if root.kind == RAW and root.schema.get("type") == "object" and not any(k in root.schema for k in _UNFORMABLE):
        root.kind = OBJECT  # a product without parameters: an empty form
    if root.kind != OBJECT:
        raise SchemaError("a product's order parameters must be a JSON object schema")
    return root


def _field(resolver: Resolver, schema: Any, name: str, path: str, required: bool, depth: int,
           refs: Tuple[str, ...]) -> Field:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    recursive = isinstance(ref, str) and ref in refs  # a tree that holds itself: edited as JSON below here
    refs = refs + ((ref,) if isinstance(ref, str) else ())
    flat, ok = resolver.flatten(schema, depth)
    title = str(flat.get("title") or humanize(name) or "")
    base = Field(name=name, path=path, kind=RAW, title=title, description=str(flat.get("description") or ""),
                 required=required, schema=flat, default=copy.deepcopy(flat.get("default")),
                 has_default="default" in flat)
    kind = _kind(flat)
    rules = _UNFORMABLE if not (kind == OBJECT and "properties" in flat) else tuple(
        k for k in _UNFORMABLE if k not in _OBJECT_RULES)
    if recursive or not ok or depth > _MAX_DEPTH or any(k in flat for k in rules):
        return base
    # The parent's constraints (type, bounds) stay around alternatives; each alternative is the two merged.
    combinator = "oneOf" if isinstance(flat.get("oneOf"), list) else "anyOf" if isinstance(flat.get("anyOf"), list) else None
    if combinator and not (kind == OBJECT and _only_constraints(resolver, flat, combinator, depth)):
        base.kind, base.combinator = CHOICE, combinator
        outer = {k: v for k, v in flat.items() if k not in ("anyOf", "oneOf", "title", "description", "default")}
        for index, option in enumerate(flat[combinator]):
            option_flat, _ = resolver.flatten(option, depth + 1)
            alternative = _field(resolver, merge(outer, option_flat) if outer else option, name, path, required,
                                 depth + 1, refs)
            alternative.title = str(option_flat.get("title") or _alternative_title(alternative, index))
            base.alternatives.append(alternative)
        return base
    if kind is None:
        return base
    base.kind = kind
    if kind == OBJECT:
        required_names = set(flat.get("required") or ())
        for child_name, child in (flat.get("properties") or {}).items():
            base.children.append(_field(resolver, child, child_name, join(path, child_name),
                                        child_name in required_names, depth + 1, refs))
    elif kind == ENUM:
        base.enum = list(flat["enum"]) if "enum" in flat else [flat["const"]]
    elif kind in (INTEGER, NUMBER):
        base.minimum, base.exclusive_minimum = _bound(flat, "minimum", "exclusiveMinimum")
        base.maximum, base.exclusive_maximum = _bound(flat, "maximum", "exclusiveMaximum")
        base.multiple_of = flat.get("multipleOf") if _is_number(flat.get("multipleOf")) else None
    elif kind in (STRING, DATETIME, DATE):
        base.min_length, base.max_length = flat.get("minLength"), flat.get("maxLength")
        base.pattern, base.format = flat.get("pattern"), flat.get("format")
    return base


def _bound(schema: Dict[str, Any], inclusive: str, exclusive: str) -> Tuple[Optional[float], bool]:
    # draft-04 writes exclusiveMinimum as a flag beside minimum; later drafts as the bound itself.
    flag = schema.get(exclusive)
    if _is_number(flag):
        return flag, True
    value = schema.get(inclusive)
    return (value, flag is True) if _is_number(value) else (None, False)


def _kind(schema: Dict[str, Any]) -> Optional[str]:
    """The form kind of a flattened schema without combinators, or None when no widget can edit it."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if "enum" in schema or "const" in schema:
        values = schema["enum"] if "enum" in schema else [schema["const"]]
        return ENUM if isinstance(values, list) and values and all(
            isinstance(v, (str, int, float, bool)) for v in values) else None
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        # An object with no declared properties (free keys, a map) cannot be a set of widgets: raw JSON.
        return OBJECT if "properties" in schema else None
    if kind == "string":
        return {"date-time": DATETIME, "date": DATE}.get(schema.get("format"), STRING)
    return {"boolean": BOOLEAN, "integer": INTEGER, "number": NUMBER}.get(kind)  # arrays, null, none: raw


def _only_constraints(resolver: Resolver, schema: Dict[str, Any], combinator: str, depth: int) -> bool:
    """Whether an object's anyOf/oneOf only adds rules to properties it already has (WorldView's "stereo needs
    minBH and maxBH"): then the form shows the properties, and the rules are checked when validating."""
    known = set((schema.get("properties") or {}).keys())
    for option in schema[combinator]:
        flat, ok = resolver.flatten(option, depth + 1)
        if not ok or flat.get("type") not in (None, "object"):
            return False
        if not set((flat.get("properties") or {}).keys()) <= known or not set(flat.get("required") or ()) <= known:
            return False
        if set(flat) - {"properties", "required", "title", "description", "type"}:
            return False
    return True


# How many values of an untitled enum alternative its title names ("Option 1: SPOT_5X5, STRIP_5X10 or …").
TITLE_VALUES = 3


def _alternative_title(alternative: Field, index: int) -> str:
    """An untitled alternative named by what it holds, so the user can tell the choices apart: an enum's values,
    an object's fields, else its kind ("Option 1: a whole number")."""
    if alternative.kind == ENUM and alternative.enum:
        values = [str(v) for v in alternative.enum]
        shown = values[:TITLE_VALUES] + (["…"] if len(values) > TITLE_VALUES else [])
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        return f"Option {index + 1}: {listed}"
    if alternative.kind == OBJECT and alternative.children:
        return f"Option {index + 1}: {', '.join(child.title for child in alternative.children[:TITLE_VALUES])}"
    words = {ENUM: "a choice", INTEGER: "a whole number", NUMBER: "a number", STRING: "text", BOOLEAN: "yes or no",
             OBJECT: "details", DATETIME: "a date and time", DATE: "a date", RAW: "JSON", CHOICE: "a choice"}
    return f"Option {index + 1}: {words.get(alternative.kind, alternative.kind)}"


# -----------------------------------------------------------------------------------------------
# Validation
# -----------------------------------------------------------------------------------------------

def validate(schema: Dict[str, Any], value: Any, *, skip: Sequence[str] = ()) -> Dict[str, str]:
    """Every problem of `value` against `schema` as {field path: message} ("" for the whole object), the
    first message per path; paths in `skip` (and below them) are left out (the AOI, which the map gives)."""
    problems: List[Tuple[str, str]] = []
    _check(Resolver(schema), schema, value, "", problems, 0)
    found: Dict[str, str] = {}
    for path, message in problems:
        if any(path == s or path.startswith(s + ".") or path.startswith(s + "[") for s in skip):
            continue
        found.setdefault(path, message)
    return found


def matches(root: Dict[str, Any], part: Dict[str, Any], value: Any) -> bool:
    """Whether `value` meets `part`, a sub-schema of `root` (whose definitions its references name): which
    alternative of a choice a value belongs to."""
    problems: List[Tuple[str, str]] = []
    _check(Resolver(root), part, value, "", problems, 0)
    return not problems


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "integer":
        return _is_number(value) and float(value).is_integer()
    if kind == "number":
        return _is_number(value)
    return {"string": isinstance(value, str), "boolean": isinstance(value, bool), "null": value is None,
            "object": isinstance(value, dict), "array": isinstance(value, list)}.get(kind, True)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else ("null" if value is None else str(value).lower()
                                                        if isinstance(value, bool) else str(value))


def _check(resolver: Resolver, schema: Any, value: Any, path: str, out: List[Tuple[str, str]], depth: int) -> None:
    if schema is True or schema == {}:
        return
    if schema is False:
        out.append((path, "is not allowed"))
        return
    schema, ok = resolver.deref(schema, depth)
    if not ok:
        return  # an unresolvable reference constrains nothing the plugin can know; the service will say
    if depth > _MAX_DEPTH:
        return
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_type_ok(k, value) for k in kinds):
            words = {"integer": "a whole number", "number": "a number", "string": "text", "boolean": "true or false",
                     "object": "an object", "array": "a list", "null": "null"}
            out.append((path, "must be " + " or ".join(words.get(k, k) for k in kinds)))
            return
    if "const" in schema and value != schema["const"]:
        out.append((path, f"must be {_show(schema['const'])}"))
    if isinstance(schema.get("enum"), list) and value not in schema["enum"]:
        out.append((path, "must be one of " + ", ".join(_show(v) for v in schema["enum"])))
    if _is_number(value):
        _check_number(schema, value, path, out)
    if isinstance(value, str):
        _check_string(schema, value, path, out)
    if isinstance(value, dict):
        _check_object(resolver, schema, value, path, out, depth)
    if isinstance(value, list):
        _check_array(resolver, schema, value, path, out, depth)
    for part in schema.get("allOf") or ():
        _check(resolver, part, value, path, out, depth + 1)
    for combinator in ("anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            _check_alternatives(resolver, combinator, options, value, path, out, depth)
    if "if" in schema:
        condition: List[Tuple[str, str]] = []
        _check(resolver, schema["if"], value, path, condition, depth + 1)
        branch = schema.get("else" if condition else "then")
        if branch is not None:
            _check(resolver, branch, value, path, out, depth + 1)
    if "not" in schema:
        inner: List[Tuple[str, str]] = []
        _check(resolver, schema["not"], value, path, inner, depth + 1)
        if not inner:
            out.append((path, "matches a form it must not have"))


def _check_number(schema: Dict[str, Any], value: float, path: str, out: List[Tuple[str, str]]) -> None:
    low, low_exclusive = _bound(schema, "minimum", "exclusiveMinimum")
    high, high_exclusive = _bound(schema, "maximum", "exclusiveMaximum")
    if low is not None and (value < low or (low_exclusive and value == low)):
        out.append((path, f"{_show(value)} is less than the minimum of {_show(low)}" if not low_exclusive
                    else f"must be greater than {_show(low)}"))
    if high is not None and (value > high or (high_exclusive and value == high)):
        out.append((path, f"{_show(value)} is greater than the maximum of {_show(high)}" if not high_exclusive
                    else f"must be less than {_show(high)}"))
    step = schema.get("multipleOf")
    if _is_number(step) and step > 0:
        quotient = value / step
        if not math.isclose(quotient, round(quotient), rel_tol=0, abs_tol=1e-9):
            out.append((path, f"must be a multiple of {_show(step)}"))


def _check_string(schema: Dict[str, Any], value: str, path: str, out: List[Tuple[str, str]]) -> None:
    if _is_number(schema.get("minLength")) and len(value) < schema["minLength"]:
        out.append((path, "must not be empty" if schema["minLength"] == 1
                    else f"must be at least {schema['minLength']} characters long"))
    if _is_number(schema.get("maxLength")) and len(value) > schema["maxLength"]:
        out.append((path, f"must be at most {schema['maxLength']} characters long"))
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            if re.search(pattern, value) is None:
                out.append((path, f"does not match the pattern {pattern}"))
        except re.error:
            pass  # a pattern Python cannot read (ECMA-only syntax): the service checks it
    form = schema.get("format")
    if form == "date-time" and not _is_datetime(value):
        out.append((path, "must be a date and time (ISO 8601, e.g. 2024-05-01T00:00:00Z)"))
    elif form == "date" and not _is_date(value):
        out.append((path, "must be a date (YYYY-MM-DD)"))


def _is_datetime(text: str) -> bool:
    if not re.match(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", text):
        return False
    try:
        stripped = re.sub(r"\.\d+", "", text).replace("z", "Z").replace("Z", "+00:00")
        datetime.fromisoformat(stripped)
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}$", text))


def _check_object(resolver: Resolver, schema: Dict[str, Any], value: Dict[str, Any], path: str,
                  out: List[Tuple[str, str]], depth: int) -> None:
    properties = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in value:
            out.append((join(path, name), "is required"))
    for name, item in value.items():
        if name in properties:
            _check(resolver, properties[name], item, join(path, name), out, depth + 1)
            continue
        extra = schema.get("additionalProperties", True)
        matched = False
        for pattern, sub in (schema.get("patternProperties") or {}).items():
            try:
                if re.search(pattern, name):
                    matched = True
                    _check(resolver, sub, item, join(path, name), out, depth + 1)
            except re.error:
                matched = True
        if matched:
            continue
        if extra is False:
            out.append((join(path, name), "is not a parameter of this product"))
        elif isinstance(extra, dict):
            _check(resolver, extra, item, join(path, name), out, depth + 1)


def _check_array(resolver: Resolver, schema: Dict[str, Any], value: List[Any], path: str,
                 out: List[Tuple[str, str]], depth: int) -> None:
    if _is_number(schema.get("minItems")) and len(value) < schema["minItems"]:
        out.append((path, f"must hold at least {schema['minItems']} items"))
    if _is_number(schema.get("maxItems")) and len(value) > schema["maxItems"]:
        out.append((path, f"must hold at most {schema['maxItems']} items"))
    if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
        out.append((path, "must not repeat an item"))
    items = schema.get("items")
    if isinstance(items, list):
        for index, (item, sub) in enumerate(zip(value, items)):
            _check(resolver, sub, item, f"{path}[{index}]", out, depth + 1)
    elif isinstance(items, (dict, bool)):
        for index, item in enumerate(value):
            _check(resolver, items, item, f"{path}[{index}]", out, depth + 1)


def _check_alternatives(resolver: Resolver, combinator: str, options: List[Any], value: Any, path: str,
                        out: List[Tuple[str, str]], depth: int) -> None:
    results = []
    for option in options:
        found: List[Tuple[str, str]] = []
        _check(resolver, option, value, path, found, depth + 1)
        results.append(found)
    passing = sum(1 for r in results if not r)
    if combinator == "oneOf" and passing > 1:
        out.append((path, "matches more than one of its possible forms"))
        return
    if passing:
        return
    # Report the alternative the value was meant for: one whose fixed values (const, enum, type) it meets,
    # so "stereo needs minBH" is said rather than "acquisitionMode must be mono"; then the fewest problems.
    def distance(found: List[Tuple[str, str]]) -> Tuple[int, int]:
        deciding = sum(1 for p, m in found if m.startswith("must be") and (p == path or "one of" in m or "'" in m))
        return deciding, len(found)

    out.extend(min(results, key=distance))
