"""JSON Schemas of the event data, and the backward-compatibility check.

``contracts/schemas/<type>.json`` is the schema of the current model (a test
fails when it drifts). ``contracts/schemas/baseline/<type>.v<major>.json`` is
the schema as first published for that major version: every later change
within the major must stay backward compatible with it, so that consumers
written against it keep working. A change that removes a field, makes a
field newly required, or narrows a type needs a new major version (bump the
model's ``version``), which starts a new baseline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pathways_contracts.base import Event, registry

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
BASELINE_DIR = SCHEMA_DIR / "baseline"


def schema_for(model: type[Event]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": model.dataschema(),
        "x-event-type": model.event_type,
        "x-version": model.version,
        "x-partition-key": model.subject_field,
        "description": model.description,
    } | {k: v for k, v in schema.items() if k != "description"}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def current_path(event_type: str, folder: Path = SCHEMA_DIR) -> Path:
    return folder / f"{event_type}.json"


def baseline_path(event_type: str, major: int, folder: Path = BASELINE_DIR) -> Path:
    return folder / f"{event_type}.v{major}.json"


def write_all(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every current schema, and the baseline of any major not yet published."""
    written = []
    (folder / "baseline").mkdir(parents=True, exist_ok=True)
    for event_type, model in sorted(registry().items()):
        text = render(schema_for(model))
        current = current_path(event_type, folder)
        if not current.exists() or current.read_text() != text:
            current.write_text(text)
            written.append(current)
        baseline = baseline_path(event_type, model.version, folder / "baseline")
        if not baseline.exists():  # a baseline is never overwritten
            baseline.write_text(text)
            written.append(baseline)
    return written


# --- backward compatibility -------------------------------------------------------------------

def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` breaks readers of ``old``: removed or newly required fields, narrowed types."""
    return _compare_object(old, old, new, new, path="")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root.get("$defs", {})[name]
    return schema


def _compare_object(old: dict, old_root: dict, new: dict, new_root: dict, path: str) -> list[str]:
    problems = []
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name in old_props.keys() - new_props.keys():
        problems.append(f"{path}{name}: removed")
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{path}{name}: newly required")
    for name in old_props.keys() & new_props.keys():
        problems += _compare_value(old_props[name], old_root, new_props[name], new_root, f"{path}{name}")
    return problems


def _compare_value(old: dict, old_root: dict, new: dict, new_root: dict, path: str) -> list[str]:
    old_types, new_types = _types(old, old_root), _types(new, new_root)
    narrowed = sorted(t for t in old_types if not _covered(t, new_types))
    problems = [f"{path}: type narrowed (no longer accepts {', '.join(narrowed)})"] if narrowed else []
    old_r, new_r = _resolve(old, old_root), _resolve(new, new_root)
    if "properties" in old_r and "properties" in new_r:
        problems += _compare_object(old_r, old_root, new_r, new_root, f"{path}.")
    if "items" in old_r and "items" in new_r:
        problems += _compare_value(old_r["items"], old_root, new_r["items"], new_root, f"{path}[]")
    return problems


def _types(schema: dict, root: dict) -> set[str]:
    """The values a schema accepts, as coarse tokens: 'string', 'string:enum=x', 'string:format=date', ..."""
    schema = _resolve(schema, root)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            return set().union(*(_types(s, root) for s in schema[union]))
    if "enum" in schema or "const" in schema:
        values = schema.get("enum", [schema.get("const")])
        return {f"{type(v).__name__}:enum={v}" for v in values}
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    if kind == "string" and "format" in schema:
        return {f"string:format={schema['format']}"}
    return {kind}


def _covered(token: str, accepted: set[str]) -> bool:
    if token in accepted or "any" in accepted:
        return True
    base = token.split(":", 1)[0]
    if base == "str":  # an enum value of a string enum is accepted by any string
        return "string" in accepted
    if token.startswith("string:format="):
        return "string" in accepted
    return token == "integer" and "number" in accepted
