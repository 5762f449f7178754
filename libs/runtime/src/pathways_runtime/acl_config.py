"""Kafka principals and ACLs as data: ``deploy/kafka/acls.yaml``.

``bindings()`` turns the file into ACL entries (principal, resource, pattern, operation), which
``pathways kafka apply-acls`` creates on the cluster. A service: WRITE on the topics it owns and
on the dead-letter topics of those it reads, READ on what it reads, READ on its consumer groups
(prefix: its name). A department: READ on its granted topics and on its groups (prefix
``dept.<department>``), nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from pathways_contracts import dlq_topic

ACLS_FILE = Path("deploy") / "kafka" / "acls.yaml"


class ServiceGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    writes: list[str] = []
    reads: list[str] = []


class DepartmentGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reads: list[str]


class AclsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    super_users: list[str]
    services: dict[str, ServiceGrant]
    departments: dict[str, DepartmentGrant]

    @property
    def principals(self) -> list[str]:
        return [*self.super_users, *self.services, *(department_user(d) for d in self.departments)]


@dataclass(frozen=True)
class Binding:
    principal: str  # "User:inspection"
    resource: str  # "topic" or "group"
    name: str
    pattern: str  # "literal" or "prefixed"
    operation: str  # "read" or "write"


def department_user(department: str) -> str:
    return f"dept-{department}"


def department_group_prefix(department: str) -> str:
    return f"dept.{department}"  # the consumer kit's group, and its replay groups


def load_acls(path: Path) -> AclsFile:
    return AclsFile.model_validate(yaml.safe_load(Path(path).read_text()))


def bindings(acls: AclsFile) -> list[Binding]:
    result: list[Binding] = []
    for service, grant in acls.services.items():
        user = f"User:{service}"
        for topic in sorted({*grant.writes, *(dlq_topic(t) for t in grant.reads)}):
            result.append(Binding(user, "topic", topic, "literal", "write"))  # WRITE implies DESCRIBE
        result += [Binding(user, "topic", topic, "literal", "read") for topic in grant.reads]
        result.append(Binding(user, "group", service, "prefixed", "read"))
    for department, grant in acls.departments.items():
        user = f"User:{department_user(department)}"
        result += [Binding(user, "topic", topic, "literal", "read") for topic in grant.reads]
        result.append(Binding(user, "group", department_group_prefix(department), "prefixed", "read"))
    return result
