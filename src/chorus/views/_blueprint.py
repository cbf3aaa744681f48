"""A ``Composite``'s declarations, planned once per settings instead of once per request.

Every request to a ``Composite`` runs the same declarations, and what a
declared ``chorus.call()`` says about itself does not change between requests:
its upstream, its time limit, whether it is required; nor do the sources'
names. So they are checked and planned (``chorus.engine._fanout.plan_sources``) the
first time the view serves a request under a settings object, and the plans
are kept until ``CHORUS`` changes: ``get_settings()`` answers a new object
after ``setting_changed``, which is how a blueprint knows it is out of date
(``override_settings`` in tests just works). Factories still run per request,
since each request needs its own coroutines, and their products are planned
as they come.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.http import HttpRequest

from chorus.engine._call import Call
from chorus.engine._fanout import check_source_name
from chorus.engine._settings import ChorusSettings, get_settings
from chorus.engine._sources import Plan, Source, SourceSpec, plan_of

__all__ = ["SourceDeclaration", "build_source", "planned_sources"]

SourceDeclaration = Call | Source | Callable[..., Any]

# A view made per request with new ``sources`` would grow this without end: start
# over past this many (a project declares a handful).
_MAX_BLUEPRINTS = 256


@dataclass(frozen=True, slots=True)
class _Blueprint:
    # Held so that the id() it is filed under names the same mapping while it is cached.
    sources: Mapping[str, SourceDeclaration]
    settings: ChorusSettings
    # Per source in declaration order: its name, its plan when the declaration is a
    # call (None for a factory or a ``source()``, built per request) and the declaration.
    steps: tuple[tuple[str, Plan | None, SourceDeclaration], ...]


_blueprints: dict[int, _Blueprint] = {}


def _draw(sources: Mapping[str, SourceDeclaration], settings: ChorusSettings) -> _Blueprint:
    for name in sources:
        check_source_name(name)
    steps = tuple(
        (
            name,
            plan_of(declared, settings.upstream) if isinstance(declared, Call) else None,
            declared,
        )
        for name, declared in sources.items()
    )
    return _Blueprint(sources, settings, steps)


def build_source(
    declared: SourceDeclaration, request: HttpRequest, kwargs: dict[str, Any]
) -> SourceSpec:
    """One declaration for this request: a call as it is, a factory called."""
    if isinstance(declared, Call):
        return declared
    if isinstance(declared, Source):
        target = declared.target
        if callable(target) and not inspect.isawaitable(target):
            target = target(request, **kwargs)
        return replace(declared, target=target)
    return declared(request, **kwargs)  # type: ignore[no-any-return]


def planned_sources(
    sources: Mapping[str, SourceDeclaration], request: HttpRequest, kwargs: dict[str, Any]
) -> tuple[dict[str, Plan], ChorusSettings]:
    """This request's plans for ``sources``, and the settings they were planned under."""
    settings = get_settings()
    blueprint = _blueprints.get(id(sources))
    if blueprint is None or blueprint.settings is not settings or blueprint.sources is not sources:
        if len(_blueprints) >= _MAX_BLUEPRINTS:
            _blueprints.clear()
        blueprint = _blueprints[id(sources)] = _draw(sources, settings)
    plans: dict[str, Plan] = {}
    for name, ready, declared in blueprint.steps:
        if ready is None:
            ready = plan_of(build_source(declared, request, kwargs), settings.upstream)
        plans[name] = ready
    return plans, settings
