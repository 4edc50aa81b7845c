"""Why a guest needs someone: the one list of attention categories every analyser answers in.

The rules, the optional trained model and the LLM all name the reason a message needs staff
with one of these values (`Verdict.category`), so alerts, reports and metrics group guests
the same way whoever judged the message. Finer detail ("hot water", "wifi", "late
checkout") stays in `Verdict.categories`.

Emergencies are the one category that changes how an alert is sent (at once, past the
cooldown and quiet hours, whatever an LLM says): `EmergencyKind` names what happened.
"""

from __future__ import annotations

from enum import StrEnum


class AttentionCategory(StrEnum):
    """The main reason someone at the hotel has to act. Problems first, then requests."""

    EMERGENCY = "emergency"  # fire, smoke, gas, flood, intruder, theft, assault, medical, "help"
    SAFETY = "safety"  # a hazard stated calmly: loose wire, broken glass, no railing
    COMPLAINT = "complaint"  # a fault of the room, facility or service (broken, dirty, noisy...)
    STAFF_CONDUCT = "staff_conduct"  # rudeness, harassment by staff, privacy
    BILLING = "billing"  # charged other than agreed, double charge, deposit
    TRANSPORT = "transport"  # taxi, transfer, airport pick-up
    BOOKING = "booking"  # table, excursion, spa, tickets
    HOUSEKEEPING_ITEM = "housekeeping_item"  # towels, pillows, toiletries, cleaning, iron
    BILLING_DOCUMENT = "billing_document"  # invoice, receipt, printing, visa letter
    STAY_CHANGE = "stay_change"  # room move, early check-in, late check-out, extension, luggage
    SPECIAL_NEED = "special_need"  # diet, allergy, accessibility, baby cot
    FOLLOW_UP = "follow_up"  # still waiting, a reminder, a bare ping after silence
    OTHER = "other"  # needs someone, fits none of the above


PROBLEM_CATEGORIES = frozenset(
    {
        AttentionCategory.EMERGENCY,
        AttentionCategory.SAFETY,
        AttentionCategory.COMPLAINT,
        AttentionCategory.STAFF_CONDUCT,
        AttentionCategory.BILLING,
    }
)
REQUEST_CATEGORIES = frozenset(
    {
        AttentionCategory.TRANSPORT,
        AttentionCategory.BOOKING,
        AttentionCategory.HOUSEKEEPING_ITEM,
        AttentionCategory.BILLING_DOCUMENT,
        AttentionCategory.STAY_CHANGE,
        AttentionCategory.SPECIAL_NEED,
        AttentionCategory.FOLLOW_UP,
    }
)


class EmergencyKind(StrEnum):
    """What kind of emergency a guest reports (kept in `Verdict.categories`)."""

    FIRE = "fire"  # fire, smoke, burning smell
    GAS = "gas"
    FLOOD = "flood"  # flood, water leak
    INTRUDER = "intruder"
    THEFT = "theft"
    ASSAULT = "assault"  # assault, harassment, threats
    MEDICAL = "medical"
    HELP = "help"  # a bare call for help


def parse_category(value: str | None) -> AttentionCategory | None:
    """The category named by `value` (case and spaces/dashes forgiven), None if unknown."""
    if not value:
        return None
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return AttentionCategory(key)
    except ValueError:
        return None
