"""A small JSON-schema checker for tool arguments (the subset tool schemas use).

Supports: type (string, integer, number, boolean, array, object, null, or a list of them), properties,
required, additionalProperties (false), enum, items, minItems/maxItems, minimum/maximum, minLength.
Returns messages the model can act on instead of raising.
"""

from __future__ import annotations

from typing import Any

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def _type_ok(value: Any, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    for name in names:
        types = _PY_TYPES.get(name, (object,))
        if isinstance(value, bool) and name in ("integer", "number"):
            continue  # JSON true is not a number
        if name == "integer" and isinstance(value, float) and value.is_integer():
            return True
        if isinstance(value, types):
            return True
    return False


def _type_label(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "object",
    }.get(type(value), type(value).__name__)


def check(schema: dict[str, Any], value: Any, where: str = "arguments") -> list[str]:
    """Problems of `value` against `schema` (empty list when valid)."""
    problems: list[str] = []
    expected = schema.get("type")
    if expected is not None and not _type_ok(value, expected):
        want = expected if isinstance(expected, str) else " or ".join(expected)
        return [f"{where} must be of type {want}, got {_type_label(value)} {_short(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(c) for c in schema["enum"])
        problems.append(f"{where} must be one of {choices}, got {_short(value)}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where} must be >= {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where} must be <= {schema['maximum']}, got {value}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        problems.append(f"{where} must not be empty" if schema["minLength"] == 1 else f"{where} is too short")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where} needs at least {schema['minItems']} items, got {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where} takes at most {schema['maxItems']} items, got {len(value)}")
        item_schema = schema.get("items")
        if isinstance(item_schema, dict):
            for i, item in enumerate(value):
                problems.extend(check(item_schema, item, f"{where}[{i}]"))
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                desc = props.get(name, {}).get("description", "")
                problems.append(f"missing required argument {name!r}" + (f" ({desc})" if desc else ""))
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                allowed = ", ".join(sorted(props)) or "none"
                problems.append(f"unknown argument(s) {', '.join(map(repr, extra))}; allowed: {allowed}")
        for name, sub in props.items():
            if name in value and isinstance(sub, dict):
                problems.extend(check(sub, value[name], f"argument {name!r}"))
    return problems


def coerce_integers(schema: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """Turn integral floats (3.0) into ints where the schema wants integers (JSON has one number type)."""
    props = schema.get("properties", {})
    out = dict(args)
    for name, sub in props.items():
        if name not in out or not isinstance(sub, dict):
            continue
        value = out[name]
        if sub.get("type") == "integer" and isinstance(value, float) and value.is_integer():
            out[name] = int(value)
        elif sub.get("type") == "array" and isinstance(value, list):
            items = sub.get("items", {})
            if isinstance(items, dict) and items.get("type") == "integer":
                out[name] = [int(v) if isinstance(v, float) and v.is_integer() else v for v in value]
    return out


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
