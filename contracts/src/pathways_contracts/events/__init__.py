"""Every event type of Pathways. Importing this package registers them all.

No event carries a fact about a person who may be a victim: events describe
businesses (establishments, licenses, indicators observed), cases and
referrals by id, and deliveries. Person data stays in the referral service.
"""

from pathways_contracts.events.cases import CaseClosed, CaseContactRestricted, CaseOpened, CaseTriaged
from pathways_contracts.events.consents import ConsentRevoked
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
    ReferralClosed,
    ReferralCreated,
    ReferralDeclined,
    ReferralExpired,
    ReferralUnplaced,
    VictimServiceEngaged,
)

__all__ = [
    "CaseClosed",
    "CaseContactRestricted",
    "CaseOpened",
    "CaseTriaged",
    "ConsentRevoked",
    "EstablishmentCertificationChanged",
    "InspectionCompleted",
    "InspectionScheduled",
    "InspectionSubmitted",
    "NotificationDelivered",
    "NotificationFailed",
    "RedFlagEscalated",
    "RedFlagRaised",
    "ReferralAccepted",
    "ReferralClosed",
    "ReferralCreated",
    "ReferralDeclined",
    "ReferralExpired",
    "ReferralUnplaced",
    "VictimServiceEngaged",
]
