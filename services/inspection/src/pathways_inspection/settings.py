"""The inspection service's settings: the runtime's, plus what only this service decides.

Built once by ``bootstrap`` (from the environment unless a test passes its own)
and read from ``service.settings``; nothing reads the environment later.
"""

from __future__ import annotations

from pydantic import Field

from pathways_contracts.redaction import DepartmentRole
from pathways_runtime.settings import Settings

# The redaction role of each department organisation of the development directory. A token's org not
# listed here reads screening with the ops view (no indicators, no score): unknown must not mean trusted.
DEPARTMENT_ROLES: dict[str, DepartmentRole] = {
    "health-department": DepartmentRole.HEALTH,
    "health": DepartmentRole.HEALTH,
    "labor-standards": DepartmentRole.LABOR,
    "housing": DepartmentRole.HOUSING,
    "housing-department": DepartmentRole.HOUSING,
    "police-department": DepartmentRole.POLICE,
    "police": DepartmentRole.POLICE,
    "licensing": DepartmentRole.LICENSING,
    "child-protection": DepartmentRole.CHILD_PROTECTION,
    "finance": DepartmentRole.FINANCE,
}


class InspectionSettings(Settings):
    service_name: str = Field("inspection", validation_alias="OTEL_SERVICE_NAME")
    # org (from the token) -> redaction role, for reads of screening results by departments and inspectors.
    department_roles: dict[str, DepartmentRole] = Field(default_factory=lambda: dict(DEPARTMENT_ROLES),
                                                        validation_alias="PATHWAYS_DEPARTMENT_ROLES")
    # POST /inspections/batch: most items per request (each chunk of a batch is one transaction).
    batch_max_items: int = Field(1000, ge=1, validation_alias="PATHWAYS_INSPECTION_BATCH_MAX")
    batch_chunk_items: int = Field(100, ge=1, validation_alias="PATHWAYS_INSPECTION_BATCH_CHUNK")
    # GET /open-data/lives.zip is public: at most this many downloads per client address.
    open_data_rate_limit: str = Field("10/minute", validation_alias="PATHWAYS_OPEN_DATA_RATE_LIMIT")
