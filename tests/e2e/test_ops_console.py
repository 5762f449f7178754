"""The ops console in a real browser (Debian's Chromium driven by Playwright), over the system as
`make run` runs it: three service processes and the console process, a broker and PostgreSQL.

Also: every service's /metrics, scraped before and after a scenario, shows its families moving.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from pathways_cli import stack
from pathways_runtime.auth import Role, issue_token
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedKafka, free_port
from pathways_runtime.settings import Settings
from processes import fresh_database
from support import TEST_JWT_SECRET, WebhookReceiver, bearer, eventually, read_all

pytestmark = pytest.mark.e2e
ARTEFACTS = Path(__file__).parents[1] / "artefacts" / "ops-console"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
IN_FLIGHT = 8  # each service's bound on requests in flight, here


@dataclass
class ConsoleSystem:
    urls: dict[str, str]
    console: str
    kafka: str
    database_url: str


@pytest.fixture(scope="module")
async def system(infrastructure, tmp_path_factory) -> AsyncIterator[ConsoleSystem]:
    # A broker and a database of its own (the in-process services of the integration tests use the same
    # consumer group names), and every port free, so parallel runs on one machine do not collide.
    state = tmp_path_factory.mktemp("ops-e2e")
    with EmbeddedKafka(log_dir=state / "logs") as kafka:
        database_url = await fresh_database(infrastructure.database_url, "pathways_ops_e2e")
        await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers))
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "DATABASE_URL": database_url,
            "PATHWAYS_TRACE_DIR": str(state / "traces"), "INSPECTION_PORT": str(free_port()),
            "REFERRAL_PORT": str(free_port()), "NOTIFICATION_PORT": str(free_port()), "OPS_PORT": str(free_port()),
            "PATHWAYS_OPS_SAMPLE_SECONDS": "1", "PATHWAYS_DELIVERY_BASE_SECONDS": "0.2",
            "PATHWAYS_DELIVERY_CAP_SECONDS": "0.5", "PATHWAYS_DELIVERY_MAX_ATTEMPTS": "2",
            "PATHWAYS_MAX_REQUESTS_IN_FLIGHT": str(IN_FLIGHT)}  # low, so a test can fill it
        started = stack.start_services(env, state)
        started += stack.start_services(stack.console_env(env, started), state, [stack.console(env)])
        try:
            stack.wait_ready(started, timeout=120)
            urls = {svc.name: svc.url for svc, _ in started}
            yield ConsoleSystem(urls, urls.pop("ops"), kafka.bootstrap_servers, database_url)
        finally:
            stack.stop_services(started)


@pytest.fixture(scope="module")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # Playwright's own browser download does not work here: Debian's Chromium, by its path.
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    opened = await context.new_page()
    yield opened
    await context.close()


def token(role: Role, org: str) -> str:
    return issue_token(TEST_JWT_SECRET, subject=f"test-{org}", role=role, org=org)


async def sign_in(page, system: ConsoleSystem, role: Role = Role.OPS, org: str = "ops") -> None:
    await page.goto(system.console + "/")
    assert page.url.startswith(system.console + "/signin")  # no session: the sign-in page first
    await page.fill("#token", token(role, org))
    await page.click("button[type=submit]")


async def screenshot(page, name: str, *, full_page: bool = True) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTEFACTS / f"{name}.png", full_page=full_page)


async def reload_until(page, probe, timeout: float = 60):
    """Reload the page until ``probe()`` is truthy (the console renders on the server: no live update)."""

    async def again():
        await page.reload()
        return await probe()

    return await probe() or await eventually(again, timeout=timeout, interval=1)


async def case_flow(system: ConsoleSystem, receiver: WebhookReceiver) -> tuple[str, str]:
    """An establishment with two red-flag inspections: a case is opened and delivered to a webhook.
    Returns (establishment id, case id)."""
    inspector, labor = bearer(Role.INSPECTOR, "health-department"), bearer(Role.INSPECTOR, "labor-standards")
    est = f"est-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=10) as http:
        sub = await http.post(f"{system.urls['notification']}/subscriptions",
                              headers=bearer(Role.DEPARTMENT, "labor-standards"),
                              json={"department": "labor-standards", "role": "labor", "event_types": ["case.opened"],
                                    "url": receiver.url + "/pathways"})
        assert sub.status_code == 201, sub.text
        registered = await http.post(f"{system.urls['inspection']}/establishments", headers=inspector, json={
            "id": est, "license_number": f"LIC-{est}", "name": "Harbor Nail Salon", "license_type": "food",
            "license_status": "active", "area": "Ward 5", "jurisdiction": "metro-county"})
        assert registered.status_code == 201, registered.text
        for who, program, code in ((inspector, "food_establishment", "VUL-LIVING-ON-SITE"),
                                   (labor, "labor_standards_site_visit", "LAB-WAGE-THEFT")):
            recorded = await http.post(f"{system.urls['inspection']}/inspections", headers=who, json={
                "establishment_id": est, "program": program, "reason": "routine", "inspected_on": "2026-11-03",
                "result": "conditional", "indicator_codes": [code]})
            assert recorded.status_code == 201, recorded.text

    async def delivered():
        return [r for r in receiver.received if r.json()["data"].get("establishment_id") == est]

    delivery = (await eventually(delivered, timeout=60))[0]
    return est, delivery.json()["data"]["case_id"]


@pytest.fixture
def receiver():
    rx = WebhookReceiver()
    yield rx
    rx.close()


# --- sign-in ---------------------------------------------------------------------------------------

async def test_ops_signs_in_and_sees_every_service_on_the_overview(system, page):
    await sign_in(page, system)
    await page.wait_for_selector(".card[data-service=notification]")
    assert page.url == system.console + "/"
    for name in ("inspection", "referral", "notification"):
        card = page.locator(f".card[data-service={name}]")
        assert "health up" in " ".join((await card.inner_text()).split())
        assert "ready yes" in " ".join((await card.inner_text()).split())
    cookie = next(c for c in await page.context.cookies() if c["name"] == "pathways_ops_session")
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Strict")
    await reload_until(page, lambda: page.locator("svg.spark polyline").count())  # the charts have samples
    await screenshot(page, "overview")


async def test_the_overview_shows_a_service_refusing_requests_as_overloaded(system, page):
    """Requests whose bodies are still coming fill the inspection service's bound; the next one is refused
    with 503 and the overview's inspection card counts it."""
    host, port = system.urls["inspection"].removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"establishment_id": "est-held", "program": "food_establishment"}).encode()
    held = []
    try:
        for _ in range(IN_FLIGHT):
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(f"POST /inspections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token(Role.INSPECTOR, 'health')}"
                         f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body[:5])
            held.append(sock)

        async def refused():
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(f"{system.urls['inspection']}/inspections", json={},
                                         headers=bearer(Role.INSPECTOR, "health"))
            return answer if answer.status_code == 503 else None

        answer = await eventually(refused, timeout=30, interval=0.2)
        assert answer.headers["retry-after"] == "1" and answer.json()["detail"].startswith("overloaded: ")
    finally:
        for sock in held:  # the held requests end with their connections; the service takes requests again
            sock.close()
    await sign_in(page, system)
    await reload_until(page, lambda: _shed_shown(page, "inspection"))
    assert int(await page.inner_text("[data-shed=referral]")) == 0


async def _shed_shown(page, service: str) -> bool:
    shown = page.locator(f"[data-shed={service}]")
    return await shown.count() == 1 and int(await shown.inner_text()) >= 1


async def test_a_non_ops_token_is_refused(system, page):
    await sign_in(page, system, Role.DEPARTMENT, "health-department")
    assert "may not use the ops console" in await page.inner_text("main")
    assert [c for c in await page.context.cookies() if c["name"] == "pathways_ops_session"] == []
    await screenshot(page, "refused")
    async with httpx.AsyncClient(base_url=system.console, timeout=10) as http:
        assert (await http.get("/dead-letters", headers=bearer(Role.DEPARTMENT, "health-department"))).status_code == 403
        assert (await http.get("/dead-letters", headers=bearer(Role.TRIAGE, "mdt"))).status_code == 403
        assert (await http.get("/dead-letters", headers=bearer(Role.OPS, "ops"))).status_code == 200
        anonymous = await http.get("/dead-letters")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/signin?next=/dead-letters"
        forged = issue_token("another-secret-of-at-least-32-bytes!!", subject="x", role=Role.OPS, org="ops")
        assert (await http.get("/", headers={"Authorization": f"Bearer {forged}"})).status_code == 401


# --- dead letters ----------------------------------------------------------------------------------

FAIL_DELIVERIES = """
create or replace function notification.ops_e2e_refuse() returns trigger language plpgsql as $$
begin
    raise exception 'deliveries table refuses writes (ops e2e fault)';
end $$;
create trigger ops_e2e_refuse before insert on notification.deliveries
    for each row when (new.event_type = 'inspection.completed') execute function notification.ops_e2e_refuse();
"""


async def test_a_parked_dead_letter_is_found_replayed_and_seen_processed(system, page, receiver):
    # A real fault: the notification service's table refuses the delivery row, its handler fails three
    # times and the consumer parks the event. Then the fault is fixed, and ops replays it from the console.
    est = f"est-{uuid.uuid4().hex[:8]}"
    inspector = bearer(Role.INSPECTOR, "health-department")
    conn = await asyncpg.connect(system.database_url)
    try:
        await conn.execute(FAIL_DELIVERIES)
        async with httpx.AsyncClient(timeout=10) as http:
            sub = await http.post(f"{system.urls['notification']}/subscriptions",
                                  headers=bearer(Role.DEPARTMENT, "labor-standards"),
                                  json={"department": "labor-standards", "role": "labor",
                                        "event_types": ["inspection.completed"], "url": receiver.url + "/inspections"})
            assert sub.status_code == 201, sub.text
            assert (await http.post(f"{system.urls['inspection']}/establishments", headers=inspector, json={
                "id": est, "license_number": f"LIC-{est}", "name": "Sunrise Spa", "license_type": "massage",
                "license_status": "active", "jurisdiction": "metro-county"})).status_code == 201
            assert (await http.post(f"{system.urls['inspection']}/inspections", headers=inspector, json={
                "establishment_id": est, "program": "massage_establishment", "reason": "routine",
                "inspected_on": "2026-11-04", "result": "pass", "indicator_codes": []})).status_code == 201

        async def parked():
            return [r for r in await read_all(system.kafka, "inspection.completed.dlq")
                    if r.headers.get("ce_subject") == est]

        await eventually(parked, timeout=60)
    finally:
        await conn.execute("drop trigger if exists ops_e2e_refuse on notification.deliveries")
        await conn.close()

    await sign_in(page, system)
    await page.wait_for_selector("#open-dead-letters")
    assert int(await page.inner_text("#open-dead-letters")) >= 1  # the overview says someone must look
    await page.goto(system.console + "/dead-letters?topic=inspection.completed")
    row = page.locator(f"tr.dead-letter[data-subject='{est}']")
    assert await row.locator(".pill").first.inner_text() == "parked"
    text = await row.inner_text()
    assert "handler error" in text and "notification" in text  # the reason and the consumer group that parked it
    await screenshot(page, "dead-letters-parked")
    await row.locator("input[name=why]").fill("deliveries table fixed")
    await row.locator("button", has_text="Replay").click()
    await page.wait_for_url("**/dead-letters?topic=inspection.completed")

    async def processed():
        return await row.locator(".pill").first.inner_text() == "processed"

    await reload_until(page, processed)
    await screenshot(page, "dead-letters-processed")

    async def delivered():  # processed for real: the department got the event it had missed
        return [r for r in receiver.received if r.json()["subject"] == est]

    await eventually(delivered, timeout=60)
    await page.goto(system.console + "/audit")
    audit = await page.locator("tr.audit").first.inner_text()
    assert "dead_letter.replay" in audit and "test-ops" in audit and "deliveries table fixed" in audit


async def test_a_discard_needs_a_confirmation_and_hides_the_record(system, page):
    # A record no consumer could ever read (not a CloudEvent), parked by the notification consumer (the only
    # consumer of this topic: a topic several services read gets one dead letter per consumer group).
    producer = AIOKafkaProducer(bootstrap_servers=system.kafka)
    await producer.start()
    marker = f"garbage-{uuid.uuid4().hex[:8]}"
    try:
        await producer.send_and_wait("establishment.certification_changed", marker.encode(), key=marker.encode())
    finally:
        await producer.stop()

    async def parked():
        return [r for r in await read_all(system.kafka, "establishment.certification_changed.dlq") if r.value == marker.encode()]

    record = (await eventually(parked, timeout=60))[0]
    await sign_in(page, system)
    await page.goto(system.console + "/dead-letters?topic=establishment.certification_changed&reason_class=invalid_event")
    row = page.locator("tr.dead-letter", has_text=marker).first
    await row.locator("a", has_text="Discard").click()
    await page.fill("input[name=why]", "not an event: a test's garbage")
    async with httpx.AsyncClient(base_url=system.console, timeout=10, headers=bearer(Role.OPS, "ops")) as http:
        unconfirmed = await http.post("/dead-letters/discard", data={
            "dlq_topic": "establishment.certification_changed.dlq", "partition": record.partition, "offset": record.offset,
            "why": "no confirmation"})
        assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.text
    await page.check("input[name=confirm]")
    await page.click("button.danger")
    await page.wait_for_url("**/dead-letters?topic=establishment.certification_changed")
    assert await page.locator("tr.dead-letter", has_text=marker).count() == 0
    await page.goto(system.console + "/dead-letters?topic=establishment.certification_changed&show=all")
    assert await page.locator("tr.dead-letter", has_text=marker).locator(".pill").first.inner_text() == "discarded"


async def test_replay_matching_a_filter_sends_each_open_record_once(system, page):
    # Two records no consumer can read, on a topic only the notification service reads: parked as invalid events.
    markers = [f"junk-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    producer = AIOKafkaProducer(bootstrap_servers=system.kafka)
    await producer.start()
    try:
        for marker in markers:
            await producer.send_and_wait("inspection.scheduled", marker.encode(), key=marker.encode())
    finally:
        await producer.stop()

    async def parked(copies: int):
        records = await read_all(system.kafka, "inspection.scheduled.dlq")
        return all(sum(r.value == m.encode() for r in records) >= copies for m in markers)

    await eventually(lambda: parked(1), timeout=60)
    await sign_in(page, system)
    await page.goto(system.console + "/dead-letters?topic=inspection.scheduled&reason_class=invalid_event")
    await page.fill("#replay-matching input[name=why]", "checking the new decoder")
    await page.click("#replay-matching button")
    await page.wait_for_url("**/dead-letters?topic=inspection.scheduled")
    # Replayed, they are still not events: parked again, as new records. The originals say replayed.
    await eventually(lambda: parked(2), timeout=60)
    await page.reload()
    for marker in markers:
        states = await page.locator("tr.dead-letter", has_text=marker).locator(".pill.parked, .pill.replayed").all_inner_texts()
        assert sorted(states) == ["parked", "replayed"], (marker, states)
    # A second replay of the same filter sends only the records parked since, never the replayed ones again.
    await page.fill("#replay-matching input[name=why]", "once more")
    await page.click("#replay-matching button")
    await page.wait_for_url("**/dead-letters?topic=inspection.scheduled")
    await page.goto(system.console + "/audit")
    latest = await page.locator("tr.audit").first.inner_text()
    assert "dead_letter.replay_matching" in latest and "replayed 2" in latest and "once more" in latest


# --- deliveries ------------------------------------------------------------------------------------

async def test_a_stuck_delivery_is_found_with_its_reason_and_replayed(system, page, receiver):
    receiver.status = 500  # the department's receiver is broken: two attempts, then the delivery is parked
    est = f"est-{uuid.uuid4().hex[:8]}"
    inspector = bearer(Role.INSPECTOR, "health-department")
    async with httpx.AsyncClient(timeout=10) as http:
        sub = await http.post(f"{system.urls['notification']}/subscriptions",
                              headers=bearer(Role.DEPARTMENT, "housing"),
                              json={"department": "housing", "role": "housing", "event_types": ["inspection.completed"],
                                    "url": receiver.url + "/broken"})
        assert sub.status_code == 201, sub.text
        assert (await http.post(f"{system.urls['inspection']}/establishments", headers=inspector, json={
            "id": est, "license_number": f"LIC-{est}", "name": "Corner Market", "license_type": "food",
            "license_status": "active", "jurisdiction": "metro-county"})).status_code == 201
        assert (await http.post(f"{system.urls['inspection']}/inspections", headers=inspector, json={
            "establishment_id": est, "program": "food_establishment", "reason": "routine",
            "inspected_on": "2026-11-05", "result": "pass", "indicator_codes": []})).status_code == 201

        async def parked():
            answer = await http.get(f"{system.urls['notification']}/deliveries", headers=bearer(Role.OPS, "ops"),
                                    params={"status": "parked", "subscription_id": sub.json()["id"]})
            return answer.json()

        [delivery] = await eventually(parked, timeout=60)

    await sign_in(page, system)
    await page.goto(system.console + "/deliveries")
    row = page.locator(f"tr.delivery[data-delivery-id='{delivery['id']}']")
    text = await row.inner_text()
    assert "HTTP 500" in text and "housing" in text  # the reason, the department, without a terminal
    await screenshot(page, "deliveries")
    receiver.status = 204  # the department fixed its receiver
    await row.locator("input[name=why]").fill("housing receiver is back")
    await row.locator("button", has_text="Replay").click()
    await page.wait_for_url("**/deliveries")

    async def delivered():
        return [r for r in receiver.received if r.json()["subject"] == est]

    await eventually(delivered, timeout=60)
    await page.goto(system.console + "/audit")
    assert "delivery.replay" in await page.locator("tr.audit").first.inner_text()


# --- traces and flow ------------------------------------------------------------------------------

async def test_a_case_is_searched_and_its_trace_shown_across_the_three_services(system, page, receiver):
    est, case_id = await case_flow(system, receiver)
    await sign_in(page, system)
    await page.goto(f"{system.console}/traces?q={case_id}")

    async def across_three():
        for services in await page.locator("section.trace .services").all_inner_texts():
            if {"inspection", "referral", "notification"} <= set(services.split(", ")):
                return True
        return False

    await reload_until(page, across_three)  # spans reach the store in batches, half a second apart
    trace = page.locator("section.trace").first
    assert await trace.locator("tr.span[data-service=notification]").count() >= 1
    await screenshot(page, "trace")
    await screenshot(page, "trace-viewport", full_page=False)  # the README's, as docs/ops-trace.png

    await page.goto(f"{system.console}/flow?id={case_id}")
    flow = await page.locator("tr.flow-event").all_inner_texts()
    assert any("case.opened" in row for row in flow)
    await page.goto(f"{system.console}/flow?id={est}")
    flow = " ".join(await page.locator("tr.flow-event").all_inner_texts())
    assert "inspection.completed" in flow and "redflag.raised" in flow
    await screenshot(page, "flow")
    await page.goto(system.console + "/")  # the overview, now that events have flowed (for the README)
    await screenshot(page, "overview-busy")
    await screenshot(page, "overview-viewport", full_page=False)  # the README's, as docs/ops-overview.png


# --- metrics ---------------------------------------------------------------------------------------

async def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{url}/metrics")
    assert answer.status_code == 200, answer.text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls)


async def test_every_service_serves_metrics_and_its_families_move_after_a_scenario(system, receiver):
    before = {name: await scrape(url) for name, url in system.urls.items()}
    await case_flow(system, receiver)
    producer = AIOKafkaProducer(bootstrap_servers=system.kafka)
    await producer.start()
    try:  # and one record that is not an event: the notification consumer parks it
        await producer.send_and_wait("case.opened", b"{not json", key=b"k")
    finally:
        await producer.stop()

    still: list[str] = []

    async def moved():
        after = {name: await scrape(url) for name, url in system.urls.items()}
        grew = {
            "inspection http": ("inspection", "http_server_requests_total",
                                {"http_route": "/inspections", "http_request_method": "POST"}),
            "inspection published": ("inspection", "pathways_events_published_total", {"topic": "inspection.completed"}),
            "inspection batches": ("inspection", "pathways_batch_size_count", {"stage": "outbox_relay"}),
            "referral consumed": ("referral", "pathways_events_consumed_total",
                                  {"topic": "redflag.raised", "outcome": "processed"}),
            "referral handler time": ("referral", "pathways_event_handler_duration_seconds_count",
                                      {"topic": "redflag.raised"}),
            "referral published": ("referral", "pathways_events_published_total", {"topic": "case.opened"}),
            "notification consumed": ("notification", "pathways_events_consumed_total", {"outcome": "processed"}),
            "webhook delivered": ("notification", "pathways_webhook_deliveries_total", {"outcome": "delivered"}),
            "webhook latency": ("notification", "pathways_webhook_delivery_duration_seconds_count", {}),
            "dead letters": ("notification", "pathways_dead_letters_total",
                             {"topic": "case.opened", "reason_class": "invalid_event"}),
        }
        still[:] = [what for what, (svc, name, labels) in grew.items()
                    if total(after[svc], name, **labels) <= total(before[svc], name, **labels)]
        return after if not still else None

    try:
        after = await eventually(moved, timeout=60, interval=1)
    except AssertionError as exc:
        raise AssertionError(f"these did not move: {still}") from exc
    # Measured at scrape: the outbox of each service and the lag of each consumer group, per partition.
    for name in ("inspection", "referral", "notification"):
        assert ("pathways_outbox_backlog", frozenset({("schema", name)})) in after[name]
        assert ("pathways_outbox_oldest_unsent_age_seconds", frozenset({("schema", name)})) in after[name]
    lag = {dict(ls)["consumer_group"] for (n, ls) in after["referral"] if n == "pathways_consumer_lag_records"}
    assert "referral.redflag.raised" in lag
    assert all("partition" in dict(ls) for (n, ls) in after["notification"] if n == "pathways_consumer_lag_records")
    # No ids as labels: neither a route's id nor an event's.
    text = json.dumps([sorted(ls) for (_, ls) in after["inspection"]])
    assert "est-" not in text
