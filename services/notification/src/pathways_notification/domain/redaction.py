"""The redaction policy per department role lives in ``pathways_contracts.redaction``, shared with the
inspection service's screening read; re-exported here, where the notification service has always found it."""

from pathways_contracts.redaction import (  # noqa: F401
    DIMENSIONS,
    INDICATOR_CODES,
    PERSON_WORDS,
    POLICY_FILE,
    DepartmentRole,
    DimensionOf,
    EventView,
    RedactionPolicy,
    RoleView,
    is_person_key,
    load_policy,
    receives,
    redact,
)
