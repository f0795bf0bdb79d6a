"""The tracking plan: a JSON Schema (draft-07) per event, in the shape Segment Protocols uses.

Built from the funnel declarations (each funnel's ``catalog``: its events' names, roles and
properties, run properties included), so the plan's event names and its ``flow`` and ``step``
enums are exactly the declared ones: a funnel added to ``funnels`` extends the plan.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Final

from authfunnel.fsm._base import BASE_PROPERTY_KEYS
from authfunnel.fsm._catalog import BUILTIN_CATALOG, EventSpec, JSONSchema, PropertySpec
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._errors import DefinitionError

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


def event_catalog(funnels: Iterable[Funnel] | None = None) -> dict[str, EventSpec]:
    """Every event name ``funnels`` emit (default: the built-in ones), declared once: its
    role and the union of the properties each funnel gives it (run properties included).

    Raises ``DefinitionError`` when two funnels give one name different roles.
    """
    catalog: dict[str, EventSpec] = {}
    first: dict[str, Funnel] = {}
    for funnel in _funnels(funnels):
        for name, spec in funnel.catalog.items():
            known = catalog.get(name)
            if known is None:
                catalog[name], first[name] = spec, funnel
                continue
            if known.role != spec.role:
                raise DefinitionError(
                    f"event {name!r} is the {known.role} event of {first[name].flow!r} and the "
                    f"{spec.role} event of {funnel.flow!r}: give each role its own name"
                )
            properties = dict(known.properties)
            for key, prop in spec.properties.items():
                before = properties.get(key)
                properties[key] = prop if before is None else _merge_spec(before, prop)
            catalog[name] = EventSpec(name, known.role, properties)
    return catalog


def tracking_plan(
    funnels: Iterable[Funnel] | None = None, *, tracked: bool = True
) -> dict[str, JSONSchema]:
    """Event name to JSON Schema of a Segment ``track`` message's ``properties``: every
    built-in event, and every event ``funnels`` name (default: the built-in funnels).

    ``tracked`` (the default) describes events as they leave ``track_event``, base properties
    required; ``tracked=False`` describes what the catalog constructors return.
    """
    funnels = _funnels(funnels)
    declared = {**BUILTIN_CATALOG, **event_catalog(funnels)}
    plan: dict[str, JSONSchema] = {}
    for name, spec in declared.items():
        emitting = [funnel for funnel in funnels if name in funnel.catalog]
        properties = {key: _narrowed(key, p, emitting) for key, p in spec.properties.items()}
        required = [key for key, p in spec.properties.items() if p.required]
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


def _funnels(funnels: Iterable[Funnel] | None) -> tuple[Funnel, ...]:
    if funnels is None:
        from authfunnel.fsm._flows import BUILTIN_FUNNELS

        return BUILTIN_FUNNELS
    return tuple(funnels)


def _narrowed(key: str, spec: PropertySpec, funnels: list[Funnel]) -> JSONSchema:
    schema = copy.deepcopy(spec.schema)
    if not funnels or "const" in schema:
        return schema
    if key == "flow":
        schema["enum"] = sorted({str(funnel.flow) for funnel in funnels})
    elif key == "step":
        schema["enum"] = sorted({step for funnel in funnels for step in funnel.step_names})
    return schema


def _merge_spec(existing: PropertySpec, new: PropertySpec) -> PropertySpec:
    required = existing.required and new.required
    if existing.schema == new.schema:
        return PropertySpec(existing.schema, required)
    return PropertySpec({"anyOf": [existing.schema, new.schema]}, required)
