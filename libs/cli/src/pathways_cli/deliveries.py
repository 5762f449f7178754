"""`pathways deliveries list|replay`: parked notification deliveries, seen and sent again by operations.

Talks to the notification service's API (``PATHWAYS_NOTIFICATION_URL``, by
default the local one) with an ops token: ``PATHWAYS_TOKEN`` when set, else one
signed with ``PATHWAYS_JWT_SECRET`` or this installation's generated secret.
"""

from __future__ import annotations

import os

import httpx
import typer
from rich.console import Console
from rich.table import Table

from pathways_cli import stack
from pathways_runtime.auth import Role, issue_token

app = typer.Typer(help="Notification deliveries: list them (parked ones above all) and replay them.",
                  no_args_is_help=True)
console = Console()


def client() -> httpx.Client:
    base = os.environ.get("PATHWAYS_NOTIFICATION_URL", f"http://127.0.0.1:{os.environ.get('NOTIFICATION_PORT', 8003)}")
    token = os.environ.get("PATHWAYS_TOKEN") or issue_token(
        stack.signing_secret(), subject="cli-ops", role=Role.OPS, org="ops")
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def fetch(http: httpx.Client, status: str | None, subscription_id: str | None) -> list[dict]:
    params = {k: v for k, v in {"status": status, "subscription_id": subscription_id}.items() if v}
    response = http.get("/deliveries", params=params)
    response.raise_for_status()
    return response.json()


def replay(http: httpx.Client, delivery_id: str | None, subscription_id: str | None) -> list[str]:
    """Replay one parked delivery, or every parked delivery of a subscription; return the ids replayed."""
    if (delivery_id is None) == (subscription_id is None):
        raise typer.BadParameter("give a DELIVERY_ID or --subscription-id, not both")
    if delivery_id:
        response = http.post(f"/deliveries/{delivery_id}/replay")
    else:
        response = http.post("/deliveries/replay", params={"subscription_id": subscription_id})
    if response.status_code >= 400:
        raise typer.BadParameter(response.json().get("detail", response.text))
    return response.json()["replayed"]


@app.command("list")
def list_command(status: str = typer.Option("parked", help="pending, delivered, parked or cancelled; 'all' for any."),
                 subscription_id: str | None = typer.Option(None, "--subscription-id")) -> None:
    """Deliveries, newest first (parked ones by default)."""
    with client() as http:
        rows = fetch(http, None if status == "all" else status, subscription_id)
    table = Table("delivery", "department", "channel", "event type", "status", "attempts", "last error")
    for row in rows:
        table.add_row(row["id"], row["department"], row["channel"], row["event_type"], row["status"],
                      str(row["attempts"]), (row["last_error"] or "")[:60])
    console.print(table)


@app.command("replay")
def replay_command(delivery_id: str | None = typer.Argument(None, help="One parked delivery to send again."),
                   subscription_id: str | None = typer.Option(None, "--subscription-id",
                                                              help="Every parked delivery of this subscription.")) -> None:
    """Send parked deliveries again, with the same delivery ids (receivers drop duplicates)."""
    with client() as http:
        replayed = replay(http, delivery_id, subscription_id)
    console.print(f"replayed {len(replayed)} deliver{'y' if len(replayed) == 1 else 'ies'}")
    for delivery in replayed:
        console.print(f"  {delivery}")
