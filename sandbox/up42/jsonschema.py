"""A small JSON Schema (draft-07) validator, standard library only, for the constructs the product schemas use.

Supported: type (one or a list), enum, const, required, properties, additionalProperties (bool or schema),
minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minLength, maxLength, pattern, format
(date-time, date), items (one schema or a tuple of schemas), minItems, maxItems, $ref to `#/definitions/...`,
allOf, anyOf, oneOf. Every problem is reported with the dotted path of the parameter it concerns
(`params.cloudCoverage`, `params.geometry.coordinates[0]`), so a client can show it at its field.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any, Dict, List, Tuple

Problem = Tuple[str, str]  # (parameter path, message)

_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_CONST = "must be "  # a const's message; anyOf tells a failed discriminator by it
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and math.isfinite(v) and v.is_integer()),
}


class SchemaError(ValueError):
    """The schema itself uses something this validator does not know (a bug in the catalog, not the request)."""


def validate(instance: Any, schema: Dict[str, Any], path: str = "") -> List[Problem]:
    """Every problem of `instance` against `schema` (whose `definitions` resolve `$ref`s); [] when valid."""
    return _Validator(schema).check(instance, schema, path)


def _describe(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _json_text(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_text(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _valid_format(name: str, value: str) -> bool:
    if name == "date-time":
        match = _DATE_TIME.match(value)
        if not match:
            return False
        try:
            datetime.strptime(f"{match.group(1)} {match.group(2)}:{match.group(3)}:{match.group(4)}",
                              "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return False
        return True
    if name == "date":
        if not _DATE.match(value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return True  # JSON Schema: unknown formats are annotations only


class _Validator:
    def __init__(self, root: Dict[str, Any]):
        self.root = root

    def resolve(self, ref: str) -> Dict[str, Any]:
        if not ref.startswith("#/"):
            raise SchemaError(f"only local references are supported: {ref}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"unresolvable reference: {ref}")
            node = node[part]
        return node

    def check(self, value: Any, schema: Any, path: str) -> List[Problem]:
        if schema is True or schema == {}:
            return []
        if schema is False:
            return [(path, "is not allowed")]
        if "$ref" in schema:
            return self.check(value, self.resolve(schema["$ref"]), path)
        problems: List[Problem] = []
        types = schema.get("type")
        if types is not None:
            names = types if isinstance(types, list) else [types]
            if not any(_TYPES[name](value) for name in names):
                wanted = " or ".join(names)
                return [(path, f"{_describe(value)} is not of type {wanted}")]
        if "const" in schema and value != schema["const"]:
            problems.append((path, f"{_CONST}{_describe(schema['const'])}"))
        if "enum" in schema and value not in schema["enum"]:
            allowed = ", ".join(_describe(v) for v in schema["enum"])
            problems.append((path, f"{_describe(value)} is not one of {allowed}"))
        if _TYPES["number"](value):
            problems += self._number(value, schema, path)
        if isinstance(value, str):
            problems += self._string(value, schema, path)
        if isinstance(value, list):
            problems += self._array(value, schema, path)
        if isinstance(value, dict):
            problems += self._object(value, schema, path)
        for sub in schema.get("allOf", []):
            problems += self.check(value, sub, path)
        if "anyOf" in schema:
            problems += self._any_of(value, schema["anyOf"], path)
        if "oneOf" in schema:
            passing = [sub for sub in schema["oneOf"] if not self.check(value, sub, path)]
            if len(passing) != 1:
                problems.append((path, "must match exactly one of the allowed forms"
                                 if passing else "does not match any of the allowed forms"))
        return problems

    def _any_of(self, value: Any, options: List[Any], path: str) -> List[Problem]:
        results = [self.check(value, sub, path) for sub in options]
        if any(not found for found in results):
            return []
        # The closest form says best what is wrong: one whose discriminating constant matched (a stereo
        # order missing its base-to-height range), then the one with the fewest problems.
        closest = min(results, key=lambda found: (any(m.startswith(_CONST) for _, m in found), len(found)))
        if any(p != path for p, _ in closest):
            return closest
        return [(path, "matches none of the allowed forms: " + ", or ".join(
            "; ".join(m for _, m in found) for found in results))]

    @staticmethod
    def _number(value: float, schema: Dict[str, Any], path: str) -> List[Problem]:
        problems = []
        if "minimum" in schema and value < schema["minimum"]:
            problems.append((path, f"{_describe(value)} is less than the minimum of {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            problems.append((path, f"{_describe(value)} is greater than the maximum of {schema['maximum']}"))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            problems.append((path, f"{_describe(value)} must be greater than {schema['exclusiveMinimum']}"))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            problems.append((path, f"{_describe(value)} must be less than {schema['exclusiveMaximum']}"))
        step = schema.get("multipleOf")
        if step and abs(value / step - round(value / step)) > 1e-9:
            problems.append((path, f"{_describe(value)} is not a multiple of {step}"))
        return problems

    @staticmethod
    def _string(value: str, schema: Dict[str, Any], path: str) -> List[Problem]:
        problems = []
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append((path, f"must have at least {schema['minLength']} characters"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append((path, f"must have at most {schema['maxLength']} characters"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append((path, f"{_describe(value)} does not match {schema['pattern']}"))
        if "format" in schema and not _valid_format(schema["format"], value):
            problems.append((path, f"{_describe(value)} is not a valid {schema['format']}"))
        return problems

    def _array(self, value: List[Any], schema: Dict[str, Any], path: str) -> List[Problem]:
        problems = []
        if "minItems" in schema and len(value) < schema["minItems"]:
            problems.append((path, f"must have at least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append((path, f"must have at most {schema['maxItems']} items"))
        items = schema.get("items")
        if isinstance(items, list):
            for index, (item, sub) in enumerate(zip(value, items)):
                problems += self.check(item, sub, f"{path}[{index}]")
        elif items is not None:
            for index, item in enumerate(value):
                problems += self.check(item, items, f"{path}[{index}]")
        return problems

    def _object(self, value: Dict[str, Any], schema: Dict[str, Any], path: str) -> List[Problem]:
        problems = []
        for name in schema.get("required", []):
            if name not in value:
                problems.append((_join(path, name), "is required"))
        properties = schema.get("properties", {})
        for name, item in value.items():
            if name in properties:
                problems += self.check(item, properties[name], _join(path, name))
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    problems.append((_join(path, name), "is not a parameter of this product"))
                elif isinstance(extra, dict):
                    problems += self.check(item, extra, _join(path, name))
        return problems
