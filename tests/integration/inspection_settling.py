"""Waiting for the red flags an inspection test raised to finish travelling through the other services.

The session's services are shared: a red flag raised by one test module opens a
case (referral) that the notification service delivers to whatever webhooks
are subscribed when it gets there. A later module that subscribes a webhook
must not receive this module's cases, so each inspection module waits, at
its end, until its events have been consumed downstream: the referral
service's inbox rows name every red flag it handled; the notification
service acknowledges an event no subscription wants without an inbox row,
so for it what counts is that its consumer group has read past the event.
"""

from __future__ import annotations

from support import eventually, read_by_group


async def settled(pool, kafka: str) -> bool:
    red_flags_pending = await pool.fetchval(
        "select count(*) from inspection.outbox o where o.topic = 'redflag.raised' and not exists"
        " (select 1 from referral.inbox i where i.event_id = o.event_id)")
    if red_flags_pending:
        return False
    cases = [r["event_id"] for r in await pool.fetch("select event_id from referral.outbox where topic = 'case.opened'")]
    return not cases or await read_by_group(kafka, "notification", "case.opened", cases)


async def wait_until_settled(running) -> None:
    inspection = running.services["inspection"]
    await eventually(lambda: settled(inspection.pool, inspection.settings.kafka_bootstrap_servers), timeout=60)
