"""Least privilege across every service: each route names its roles, and a researcher reads /statistics only.

Read from the routes' own dependencies (``require`` records the roles it allows), so a new route that
forgets its role list, or lets a researcher in, fails here before any request is made.
"""

from __future__ import annotations

import importlib

import pytest
from fastapi.routing import APIRoute

from pathways_runtime.auth import PUBLIC_PATHS, Role

pytestmark = pytest.mark.unit
SERVICES = ("pathways_inspection", "pathways_referral", "pathways_notification", "pathways_insights")
RESEARCHER_MAY = {("insights", "GET", "/statistics")}


def _app(package: str):
    module = importlib.import_module(f"{package}.app")
    factory = getattr(module, "create_app", None)
    return factory() if factory else module.app  # services not yet moved to create_app() build it at import


def _routes(router):
    for route in router.routes:
        if hasattr(route, "original_router"):  # FastAPI includes a router lazily
            yield from _routes(route.original_router)
        elif isinstance(route, APIRoute):
            yield route


def _allowed(dependant) -> frozenset[Role] | None:
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "roles", None)
        if roles is not None:
            return roles
        found = _allowed(dep)
        if found is not None:
            return found
    return None


def _table() -> dict[tuple[str, str, str], frozenset[Role] | None]:
    table = {}
    for package in SERVICES:
        name = package.removeprefix("pathways_")
        for route in _routes(_app(package).router):
            if route.path in PUBLIC_PATHS:
                continue
            for method in route.methods - {"HEAD", "OPTIONS"}:
                table[(name, method, route.path)] = _allowed(route.dependant)
    return table


def test_every_route_of_every_service_names_the_roles_it_allows():
    table = _table()
    assert len(table) > 40
    unguarded = sorted(key for key, roles in table.items() if roles is None)
    assert not unguarded, f"routes without a role list: {unguarded}"


def test_a_researcher_can_read_the_statistics_and_nothing_else():
    table = _table()
    assert {key for key, roles in table.items() if roles and Role.RESEARCHER in roles} == RESEARCHER_MAY


def test_simulations_are_for_triage_and_ops():
    assert _table()[("insights", "POST", "/simulations")] == {Role.TRIAGE, Role.OPS}
