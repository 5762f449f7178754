"""The inspection service's settings: the runtime's, plus what only this service decides.

Built once by ``bootstrap`` (from the environment unless a test passes its own)
and read from ``service.settings``; nothing reads the environment later.
"""

from __future__ import annotations

from pydantic import Field

from pathways_contracts.grants import load_grants
from pathways_contracts.redaction import DepartmentRole
from pathways_runtime.settings import Settings

class InspectionSettings(Settings):
    service_name: str = Field("inspection", validation_alias="OTEL_SERVICE_NAME")
    # org (from the token) -> redaction role, for reads of screening results by departments and inspectors:
    # the same grants as the notifications (an org not granted reads with the ops view: unknown is not trusted).
    department_roles: dict[str, DepartmentRole] = Field(default_factory=lambda: dict(load_grants().departments),
                                                        validation_alias="PATHWAYS_DEPARTMENT_ROLES")
    # POST /inspections/batch: most items per request (each chunk of a batch is one transaction).
    batch_max_items: int = Field(1000, ge=1, validation_alias="PATHWAYS_INSPECTION_BATCH_MAX")
    batch_chunk_items: int = Field(100, ge=1, validation_alias="PATHWAYS_INSPECTION_BATCH_CHUNK")
    # ...recorded in this many concurrent lanes (a database connection each), split by establishment.
    batch_lanes: int = Field(4, ge=1, le=8, validation_alias="PATHWAYS_INSPECTION_BATCH_LANES")
    # GET /open-data/lives.zip is public: at most this many downloads per client address.
    open_data_rate_limit: str = Field("10/minute", validation_alias="PATHWAYS_OPEN_DATA_RATE_LIMIT")
