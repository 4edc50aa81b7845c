"""Does someone at the hotel have to act? The message-level decision of the rules.

`decide(reading, negative_tone)` weighs what the pass over the tokens found (`Reading`):

1. **Emergencies** (fire, gas, flood, intruder, theft, assault, medical, a call for help)
   come first: category EMERGENCY and the `EmergencyKind` first in `categories`. A bare
   "help" is an emergency only when nothing else names what the guest needs ("please help
   me book a taxi" is a request).
2. **Problems**: complaints, hazards (SAFETY), staff conduct, billing (also an amount other
   than agreed), follow-ups (still waiting, a reminder, a bare ping after silence, hours
   waited, an ordered time against the time now), sarcasm and rhetorical questions. A
   problem the message reports as fixed ("was broken, fixed now, thanks"), one in a sentence
   that denies it ("nothing is broken, just asking") and a vague one next to the weather or
   a flight are dropped.
3. **Requests**: sentences that ask staff for an action (see `reading`), with the category
   of what they ask for.
4. **Tone**: a negative message with none of the above still needs someone, unless it is
   about something outside the hotel, sad to leave, a denial, a problem already solved, or
   only questions for information. Such a verdict has category OTHER and *no* `categories`:
   it is the one kind of attention that is not a concrete finding.

Every concrete finding carries a non-empty `categories` tuple and a specific category, so the
sentiment stage can tell a finding the LLM must not overrule from a mere tone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hotelbot.domain.categories import AttentionCategory, EmergencyKind
from hotelbot.domain.rules.labels import EMERGENCY_KINDS, Cue, split_label
from hotelbot.domain.rules.reading import GENERIC_REQUEST, Complaint, Reading

__all__ = ["Decision", "decide"]

# The order in which a message's main category is chosen: the most serious finding wins.
_PRIORITY: Final = (
    AttentionCategory.EMERGENCY,
    AttentionCategory.SAFETY,
    AttentionCategory.STAFF_CONDUCT,
    AttentionCategory.BILLING,
    AttentionCategory.COMPLAINT,
    AttentionCategory.FOLLOW_UP,
)
# Problem details too vague to stand next to weather, traffic or a flight ("awful day").
_VAGUE: Final = frozenset({"general", ""})
# Urgent details that only call for help: an emergency when nothing else says what is wrong.
_BARE_HELP: Final = frozenset({"help", "emergency"})
# Cues that make a merely negative tone need nobody.
_TONE_EXCUSES: Final = frozenset(
    {Cue.OUTSIDE, Cue.LEAVING, Cue.DENIAL, Cue.RESOLVED, Cue.THANKS}
)
# Cues that make a one-word problem a figure of speech, and cues that keep it a problem.
_WEAK_EXCUSES: Final = frozenset({Cue.OUTSIDE, Cue.LEAVING})
_STILL_BAD: Final = frozenset({Cue.AGAIN, Cue.REMINDER, Cue.RHETORICAL})


@dataclass(frozen=True, slots=True)
class Decision:
    """The attention part of a verdict. `problem` is True when a complaint-like finding
    (not only a request) was made: the tone of such a message is at most mildly positive."""

    requires_attention: bool
    category: AttentionCategory | None
    categories: tuple[str, ...]
    reason: str
    problem: bool
    emergency: bool


_NOBODY: Final = Decision(False, None, (), "", False, False)


def decide(reading: Reading, negative_tone: bool, positive_tone: bool) -> Decision:
    """The attention decision for one message. Pure; never raises for a well-formed reading.

    `negative_tone` / `positive_tone`: the message's tone is negative / clearly positive."""
    cues = reading.cues
    kinds: list[EmergencyKind] = []
    urgency = False
    bare_help = True  # only a call for help so far ("help", "помогите", "sos")
    named: list[str] = []  # urgent details: "fire", "lift", "medical"
    for label in reading.urgent:
        detail = split_label(label)[1]
        if not detail:
            continue  # "fire exit", "emergency number": named, not happening
        kind = EMERGENCY_KINDS.get(detail)
        if kind is None:
            urgency = True  # "asap", "срочно": hurry, the category comes from the rest
            continue
        bare_help = bare_help and detail in _BARE_HELP
        named.append(detail)
        if kind not in kinds:
            kinds.append(kind)

    problems = _problems(reading, positive_tone)
    requests = [_request(label) for label in reading.requests]
    if kinds and bare_help and (problems or requests or positive_tone or Cue.THANKS in cues):
        kinds = []  # "please help, the wifi is down", "thanks for your help"
    if kinds:
        details = [k.value for k in kinds] + named
        details += [d for _, d in problems] + [d for _, d in requests]
        return Decision(
            True,
            AttentionCategory.EMERGENCY,
            tuple(dict.fromkeys(details)),
            f"emergency: {next((n for n in named if n not in _BARE_HELP), named[0])}",
            True,
            True,
        )
    if problems:
        category, detail = min(problems, key=lambda p: _rank(p[0]))
        details = [d for _, d in problems] + [d for _, d in requests]
        prefix = "follow-up" if category is AttentionCategory.FOLLOW_UP else "complaint"
        return Decision(
            True, category, tuple(dict.fromkeys(details)), f"{prefix}: {detail}", True, False
        )
    if requests:
        specific = [r for r in requests if r[1] != GENERIC_REQUEST]
        category, detail = (specific or requests)[0]
        details = tuple(dict.fromkeys(d for _, d in (specific or requests)))
        reason = "request" if detail == GENERIC_REQUEST else f"request: {detail}"
        return Decision(True, category, details, reason, False, False)
    if urgency:
        return Decision(True, AttentionCategory.OTHER, ("urgent",), "request: urgent", False, False)
    if negative_tone and not (cues & _TONE_EXCUSES) and not _only_questions(reading):
        return Decision(True, AttentionCategory.OTHER, (), "negative tone", False, False)
    return _NOBODY


def _rank(category: AttentionCategory) -> int:
    try:
        return _PRIORITY.index(category)
    except ValueError:
        return len(_PRIORITY)


def _request(label: str) -> tuple[AttentionCategory, str]:
    category, detail = split_label(label)
    return category or AttentionCategory.OTHER, detail


def _problems(reading: Reading, positive_tone: bool) -> list[tuple[AttentionCategory, str]]:
    """(category, detail) of every problem still standing after fixes, denials and weather."""
    cues = reading.cues
    found: list[tuple[AttentionCategory, str]] = []
    solved = (
        Cue.RESOLVED in cues
        and reading.resolved_at >= reading.last_problem_at
        and reading.again_at <= reading.resolved_at
    )
    # a lone problem word in a message of praise, weather or goodbyes is a figure of speech
    # ("the tiramisu was dangerous", "freezing in the best way", "already missing this place")
    weak_excused = bool(cues & _WEAK_EXCUSES) or (
        positive_tone and not reading.sarcasm and not cues & _STILL_BAD
    )
    for complaint in reading.complaints:
        category, detail = split_label(complaint.label)
        category = category or AttentionCategory.COMPLAINT
        if category is AttentionCategory.FOLLOW_UP:
            found.append((category, detail))  # "still waiting" is not undone by "fixed"
            continue
        if solved or _denied(reading, complaint):
            continue
        if weak_excused and (complaint.weak or detail in _VAGUE):
            continue
        found.append((category, detail))
    if reading.money and (reading.discrepancy or _amounts_disagree(reading)):
        # "we agreed 80, you charged 120", "two holds of 350 and 350": stated as plain facts
        found.append((AttentionCategory.BILLING, "amount"))
    found.extend((AttentionCategory.FOLLOW_UP, detail) for detail in reading.follow_ups)
    if reading.sarcasm and (reading.negative_seen or reading.complaints):
        found.append((AttentionCategory.COMPLAINT, "sarcasm"))
    return found


def _denied(reading: Reading, complaint: Complaint) -> bool:
    """Whether a denial in the complaint's sentence covers it: no "but" between them
    ("the TV is fine, it was on the wrong input"; not "the room is fine but the AC is dead")."""
    for sentence, at in reading.denials:
        if sentence != complaint.sentence:
            continue
        low, high = min(at, complaint.at), max(at, complaint.at)
        if not any(low < c < high for c in reading.contrasts):
            return True
    return False


def _amounts_disagree(reading: Reading) -> bool:
    amounts = reading.amounts
    if reading.currency and len(amounts) >= 2:
        return True
    return len(amounts) != len(set(amounts))  # "350 and 350": the same charge twice


def _only_questions(reading: Reading) -> bool:
    return reading.info_sentences > 0 and reading.info_sentences >= reading.sentences
