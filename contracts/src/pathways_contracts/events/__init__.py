"""Every event type of Pathways. Importing this package registers them all.

No event carries a fact about a person who may be a victim: events describe
businesses (establishments, licenses, indicators observed), cases and
referrals by id, and deliveries. Person data stays in the referral service.
"""

from pathways_contracts.events.cases import CaseClosed, CaseOpened, CaseTriaged
from pathways_contracts.events.inspections import (
    EstablishmentCertificationChanged,
    InspectionCompleted,
    InspectionScheduled,
    InspectionSubmitted,
    RedFlagEscalated,
    RedFlagRaised,
)
from pathways_contracts.events.notifications import NotificationDelivered, NotificationFailed
from pathways_contracts.events.referrals import (
    ReferralAccepted,
    ReferralCreated,
    ReferralDeclined,
    ReferralExpired,
    VictimServiceEngaged,
)

__all__ = [
    "CaseClosed",
    "CaseOpened",
    "CaseTriaged",
    "EstablishmentCertificationChanged",
    "InspectionCompleted",
    "InspectionScheduled",
    "InspectionSubmitted",
    "NotificationDelivered",
    "NotificationFailed",
    "RedFlagEscalated",
    "RedFlagRaised",
    "ReferralAccepted",
    "ReferralCreated",
    "ReferralDeclined",
    "ReferralExpired",
    "VictimServiceEngaged",
]
