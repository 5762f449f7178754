"""Waiting for the red flags an inspection test raised to finish travelling through the other services.

The session's services are shared: a red flag raised by one test module opens a
case (referral) that the notification service delivers to whatever webhooks
are subscribed when it gets there. A later module that subscribes a webhook
must not receive this module's cases, so each inspection module waits, at
its end, until its events have been consumed downstream (the consumers'
inbox rows name every event they processed).
"""

from __future__ import annotations

from support import eventually

# (producer schema, topic, consumer schema): the hops a red flag takes to a webhook.
HOPS = (("inspection", "redflag.raised", "referral"), ("referral", "case.opened", "notification"))


async def settled(pool) -> bool:
    for producer, topic, consumer in HOPS:
        pending = await pool.fetchval(
            f"select count(*) from {producer}.outbox o where o.topic = $1 and not exists"
            f" (select 1 from {consumer}.inbox i where i.event_id = o.event_id)",
            topic,
        )
        if pending:
            return False
    return True


async def wait_until_settled(running) -> None:
    pool = running.services["inspection"].pool
    await eventually(lambda: settled(pool), timeout=60)
