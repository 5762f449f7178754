"""`pathways kafka …`: principals and ACLs on an Apache Kafka cluster, from deploy/kafka/acls.yaml."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from pathways_runtime.acl_config import ACLS_FILE, AclsFile, Binding, bindings, load_acls
from pathways_runtime.settings import Settings

app = typer.Typer(help="Apache Kafka administration: ACLs as data (deploy/kafka/acls.yaml).", no_args_is_help=True)
console = Console()


def admin_config(settings: Settings) -> dict[str, str]:
    """confluent-kafka settings for ``settings``' cluster and principal (an admin, for ACLs)."""
    config = {"bootstrap.servers": settings.kafka_bootstrap_servers,
              "socket.timeout.ms": str(settings.kafka_request_timeout_ms)}
    if settings.kafka_sasl_username:
        config |= {"security.protocol": settings.kafka_security_protocol,
                   "sasl.mechanism": settings.kafka_sasl_mechanism,
                   "sasl.username": settings.kafka_sasl_username,
                   "sasl.password": settings.kafka_sasl_password.get_secret_value()
                   if settings.kafka_sasl_password else ""}
    return config


def _acl_binding(b: Binding):
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    return AclBinding(ResourceType[b.resource.upper()], b.name, ResourcePatternType[b.pattern.upper()],
                      b.principal, "*", AclOperation[b.operation.upper()], AclPermissionType.ALLOW)


def apply_acls(settings: Settings, acls: AclsFile, timeout: float = 60) -> int:
    """Create every ACL the file grants (creating an existing one is a no-op); returns how many.

    Returns once the broker enforces them: the controller acknowledges a creation before the
    brokers have applied it (seconds later on a busy machine), so poll until they describe it.
    """
    from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                       ResourcePatternType, ResourceType)

    admin = AdminClient(admin_config(settings))
    wanted = [_acl_binding(b) for b in bindings(acls)]
    for future in admin.create_acls(wanted, request_timeout=timeout).values():
        future.result()
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                  AclPermissionType.ANY)
    deadline = time.monotonic() + timeout
    while not set(wanted) <= set(admin.describe_acls(everything, request_timeout=timeout).result()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the brokers did not apply the ACLs within {timeout:.0f}s")
        time.sleep(0.2)
    return len(wanted)


@app.command("apply-acls")
def apply_acls_command(file: Path = typer.Option(ACLS_FILE, "--file", help="The principals and their grants.")) -> None:
    """Create the ACLs of deploy/kafka/acls.yaml, connecting as the KAFKA_SASL_USERNAME admin."""
    acls = load_acls(file)
    count = apply_acls(Settings(), acls)
    console.print(f"[green]✓[/] {count} ACL(s) applied for {len(acls.principals) - len(acls.super_users)} principal(s)")
