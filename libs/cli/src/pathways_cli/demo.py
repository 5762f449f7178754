"""`pathways demo`: the README walk-through as a script, beside a running `make run`.

Two departments inspect the same establishment; neither sees enough alone, together
they raise a red flag; the referral service opens a case and refers it.
"""

from __future__ import annotations

import time
import uuid

import httpx
from rich.console import Console

from pathways_cli import stack

console = Console()


def demo() -> None:
    """Record two departments' inspections of one establishment and follow the case they open."""
    tokens = stack.dev_tokens(stack.signing_secret())
    urls = {svc.name: svc.url for svc in stack.services()}
    auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    est = f"demo-{uuid.uuid4().hex[:6]}"
    with httpx.Client(timeout=10) as http:
        _step(http.post(f"{urls['inspection']}/establishments", headers=auth["INSPECTOR_TOKEN"], json={
            "id": est, "license_number": f"LIC-{est}", "name": "Lucky Garden Restaurant",
            "license_type": "food_establishment", "license_status": "active", "address": "12 Harbor Rd",
            "area": "Ward 5", "jurisdiction": "metro-county"}), f"registered establishment {est}")
        food = _inspect(http, urls, auth["INSPECTOR_TOKEN"], est, "food_establishment", ["VUL-LIVING-ON-SITE"])
        _step(food, f"health inspector: workers living on site → red flag: {food.json().get('red_flag')}")
        labor = _inspect(http, urls, auth["LABOR_INSPECTOR_TOKEN"], est, "labor_standards_site_visit",
                         ["LAB-WAGE-THEFT"])
        _step(labor, f"labor investigator: wage theft → red flag: {labor.json().get('red_flag')}")
        case = _wait_for_case(http, urls["referral"], auth["TRIAGE_TOKEN"], est)
    console.print_json(data=case)
    console.print(f"Follow it: [bold]pathways trace {est}[/]   Events: [bold]pathways tail case.opened[/]")


def _inspect(http: httpx.Client, urls: dict, headers: dict, est: str, program: str, codes: list[str]
             ) -> httpx.Response:
    return http.post(f"{urls['inspection']}/inspections", headers=headers, json={
        "establishment_id": est, "program": program, "reason": "routine",
        "inspected_on": time.strftime("%Y-%m-%d"), "result": "conditional", "indicator_codes": codes})


def _step(response: httpx.Response, done: str) -> None:
    if response.is_error:
        console.print(f"[red]✗ {response.request.method} {response.request.url} → {response.status_code}[/]")
        console.print(response.text)
        raise SystemExit(1)
    console.print(f"[green]✓[/] {done}")


def _wait_for_case(http: httpx.Client, url: str, headers: dict, est: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    with console.status("waiting for the referral service to open the case"):
        while time.monotonic() < deadline:
            cases = http.get(f"{url}/cases", params={"establishment_id": est}, headers=headers).json()
            if cases:
                case = http.get(f"{url}/cases/{cases[0]['id']}", headers=headers).json()
                if case.get("referrals"):
                    return case
            time.sleep(0.5)
    raise SystemExit(f"no case for {est} after {timeout:.0f}s; see .pathways/logs/")
