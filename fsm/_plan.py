"""The tracking plan: a JSON Schema (draft-07) per event, in the shape Segment Protocols uses.

Built from the catalog's property table and the funnel declarations, so the plan's ``flow`` and
``step`` enums are exactly the declared ones: a funnel added to ``funnels`` extends the plan.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from enum import StrEnum
from typing import Final

from authfunnel.fsm._base import BASE_PROPERTY_KEYS
from authfunnel.fsm._catalog import EVENT_PROPERTIES, JSONSchema, PropertySpec
from authfunnel.fsm._declaration import Funnel, PropertyType

DRAFT_07: Final = "http://json-schema.org/draft-07/schema#"
_BASE_PROPERTIES: Final[dict[str, JSONSchema]] = {
    "sequence": {"type": "integer", "minimum": 1},
    "invocation_id": {
        "type": "string",
        "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    },
    "cli_version": {"type": "string", "minLength": 1},
    "os": {"type": "string", "minLength": 1},
    "arch": {"type": "string", "minLength": 1},
    "python_version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+"},
}
assert set(_BASE_PROPERTIES) == BASE_PROPERTY_KEYS


def tracking_plan(
    funnels: Iterable[Funnel] | None = None, *, tracked: bool = True
) -> dict[str, JSONSchema]:
    """Event name to JSON Schema of a Segment ``track`` message's ``properties``.

    ``tracked`` (the default) describes events as they leave ``track_event``, base properties
    required; ``tracked=False`` describes what the catalog constructors return.
    """
    if funnels is None:
        from authfunnel.fsm._flows import BUILTIN_FUNNELS

        funnels = BUILTIN_FUNNELS
    funnels = tuple(funnels)
    plan: dict[str, JSONSchema] = {}
    for name, specs in EVENT_PROPERTIES.items():
        emitting = [funnel for funnel in funnels if name in funnel.events.names]
        properties = {key: _narrowed(key, spec, emitting) for key, spec in specs.items()}
        required = [key for key, spec in specs.items() if spec.required]
        for funnel in emitting:
            for key, kind in funnel.properties.items():
                if key not in specs:
                    properties[key] = _merge(properties.get(key), _schema_of(kind))
        if tracked:
            properties.update(copy.deepcopy(_BASE_PROPERTIES))
            required += sorted(_BASE_PROPERTIES)
        plan[name] = {
            "$schema": DRAFT_07,
            "title": name,
            "type": "object",
            "properties": {
                "event": {"const": name},
                "properties": {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": False,
                },
            },
            "required": ["event", "properties"],
        }
    return plan


def _narrowed(key: str, spec: PropertySpec, funnels: list[Funnel]) -> JSONSchema:
    schema = copy.deepcopy(spec.schema)
    if not funnels or "const" in schema:
        return schema
    if key == "flow":
        schema["enum"] = sorted({str(funnel.flow) for funnel in funnels})
    elif key == "step":
        schema["enum"] = sorted({step for funnel in funnels for step in funnel.step_names})
    return schema


def _schema_of(kind: PropertyType) -> JSONSchema:
    if kind is bool:
        return {"type": "boolean"}
    if kind is int:
        return {"type": "integer"}
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        return {"type": "string", "enum": [member.value for member in kind]}
    return {"type": "string"}


def _merge(existing: JSONSchema | None, new: JSONSchema) -> JSONSchema:
    if existing is None or existing == new:
        return new
    return {"anyOf": [existing, new]}
