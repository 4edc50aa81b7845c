"""Does someone at the hotel have to act? The message-level decision of the rules.

`decide(reading, negative_tone)` weighs what the pass over the tokens found (`Reading`):

1. **Emergencies** (fire, gas, flood, intruder, theft, assault, medical, a call for help)
   come first: category EMERGENCY and the `EmergencyKind` first in `categories`. A bare
   "help" is an emergency only when nothing else names what the guest needs (a problem, a
   request or a hotel service: "please help me book a taxi" is a request), and help to find
   the way or choose something ("помогите найти аптеку") is a question for directions; help to
   find a person is a missing person.
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
   only questions for information. Such a verdict has category OTHER and *no* `categories`.
5. **The trained model** (`model.py`) adds a message the rules let pass when it is very
   sure (`model_decision`); it too leaves `categories` empty. Tone and model are the two
   kinds of attention that are not concrete findings.

Every concrete finding carries a non-empty `categories` tuple and a specific category, so the
sentiment stage can tell a finding the LLM must not overrule from a mere tone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from hotelbot.domain.categories import AttentionCategory, EmergencyKind
from hotelbot.domain.rules.labels import EMERGENCY_KINDS, Cue, split_label
from hotelbot.domain.rules.reading import GENERIC_REQUEST, Complaint, Reading

__all__ = ["BARE_HELP", "MODEL_REASON", "Decision", "decide", "model_decision", "model_may_add"]

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
BARE_HELP: Final = frozenset({"help", "emergency"})
# Cues that make a merely negative tone need nobody.
_TONE_EXCUSES: Final = frozenset({Cue.OUTSIDE, Cue.LEAVING, Cue.DENIAL, Cue.RESOLVED, Cue.THANKS})
# Cues with which the rules' "nobody needed" stands against the trained model.
_MODEL_VETO: Final = frozenset({Cue.OUTSIDE, Cue.LEAVING, Cue.DENIAL, Cue.RESOLVED})
_NO_SIGNAL: Final = frozenset({Cue.OPENER, Cue.THANKS})
# Cues that make a one-word problem a figure of speech, and cues that keep it a problem.
_WEAK_EXCUSES: Final = frozenset({Cue.OUTSIDE, Cue.LEAVING})
_STILL_BAD: Final = frozenset({Cue.AGAIN, Cue.REMINDER, Cue.RHETORICAL})
# Categories whose single words are used figuratively ("killer mattress", "freezing pool");
# rudeness, billing and waiting words mean what they say.
_FIGURATIVE: Final = frozenset({AttentionCategory.COMPLAINT, AttentionCategory.SAFETY})
_FIGURES: Final = frozenset({"general", "", "temperature", "hazard", "noise", "food"})


@dataclass(frozen=True, slots=True)
class Decision:
    """The attention part of a verdict. A message whose tone score is below `tone_floor` reads
    as negative: a named complaint or an emergency allows at most a mildly positive tone
    (NAMED_FLOOR), a reminder, a rhetorical question, an amount other than agreed or a calm
    hazard only a neutral one (INFERRED_FLOOR); requests and praise leave the tone alone."""

    requires_attention: bool
    category: AttentionCategory | None
    categories: tuple[str, ...]
    reason: str
    tone_floor: float
    emergency: bool


NAMED_FLOOR: Final = 0.45
INFERRED_FLOOR: Final = 0.1
NO_FLOOR: Final = -2.0
# Guest chat messages are short; longer texts are prose, where chat cues mean less.
CHAT_WORDS: Final = 40
_NOBODY: Final = Decision(False, None, (), "", NO_FLOOR, False)
MODEL_REASON: Final = "likely needs staff (model)"
# How negative a message with a question for a fact must be before its tone alone needs staff.
ASKING_TONE: Final = -0.3


def decide(
    reading: Reading, negative_tone: bool, positive_tone: bool, tone_score: float = 0.0
) -> Decision:
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
        bare_help = bare_help and detail in BARE_HELP
        named.append(detail)
        if kind not in kinds:
            kinds.append(kind)

    problems, tone_floor = _problems(reading, positive_tone)
    requests = [_request(label) for label in reading.requests]
    if kinds and (positive_tone or Cue.THANKS in cues) and _solved(reading, reading.urgent_at):
        kinds = []  # "the baby is better now, thanks for sending the doctor so fast"
    specific = [r for r in requests if r[1] != GENERIC_REQUEST]
    if (
        kinds
        and bare_help
        and (problems or specific or reading.mentions or positive_tone or Cue.THANKS in cues)
    ):
        # "please help, the wifi is down", "help me book a taxi", "thanks for your help":
        # the help is for something named, an ordinary problem or request
        kinds = []
    if kinds:
        details = [k.value for k in kinds] + named
        details += [d for _, d in problems] + [d for _, d in requests]
        return Decision(
            True,
            AttentionCategory.EMERGENCY,
            tuple(dict.fromkeys(details)),
            f"emergency: {next((n for n in named if n not in BARE_HELP), named[0])}",
            INFERRED_FLOOR if bare_help else NAMED_FLOOR,
            True,
        )
    if problems:
        category, detail = min(problems, key=lambda p: _rank(p[0]))
        details = [d for _, d in problems] + [d for _, d in requests]
        prefix = "follow-up" if category is AttentionCategory.FOLLOW_UP else "complaint"
        return Decision(
            True,
            category,
            tuple(dict.fromkeys(details)),
            f"{prefix}: {detail}",
            tone_floor,
            False,
        )
    if requests:
        specific = [r for r in requests if r[1] != GENERIC_REQUEST]
        category, detail = (specific or requests)[0]
        asked = tuple(dict.fromkeys(d for _, d in (specific or requests)))
        reason = "request" if detail == GENERIC_REQUEST else f"request: {detail}"
        return Decision(True, category, asked, reason, NO_FLOOR, False)
    if urgency:
        return Decision(
            True, AttentionCategory.OTHER, ("urgent",), "request: urgent", NO_FLOOR, False
        )
    if negative_tone and not (cues & _TONE_EXCUSES) and not _only_questions(reading):
        if reading.info_sentences and tone_score > ASKING_TONE:
            return _NOBODY  # "can we bring our dog? she's small": a question, mildly worded
        return Decision(True, AttentionCategory.OTHER, (), "negative tone", NO_FLOOR, False)
    return _NOBODY


def model_may_add(reading: Reading, positive_tone: bool) -> bool:
    """Whether the trained model may add attention to a message the rules let pass: not when
    the rules read an explicit reason that nobody is needed (praise, a greeting, only questions
    for a fact, weather, goodbyes, a denial, a problem already fixed, only the guest's plans
    told: "we arrive around 6 pm"), nor when they saw
    nothing of hotel business at all. Cross-validation showed the model's false alarms are
    mostly those, on guest messages and on other text alike."""
    if positive_tone or reading.cues & _MODEL_VETO or reading.words == reading.filler:
        return False
    if reading.notice_sentences and (
        reading.notice_sentences + reading.empty_sentences >= reading.sentences
    ):
        return False  # "Hi! We will arrive around 6 pm today.": the guest tells, asks nothing
    # and only when the rules saw something a guest writes to a hotel about: an action, a
    # problem word, a cue, a negative word or a question (not a sentence about anything else)
    seen = (
        reading.mentions
        or reading.complaints
        or reading.urgent
        or reading.negative_seen
        or reading.question_marks
        or reading.cues - _NO_SIGNAL
    )
    return bool(seen) and not _only_questions(reading)


def model_decision(reading: Reading) -> Decision:
    """Attention added by the trained model for a message the rules let pass. Not a concrete
    finding (no `categories`): the model learned from wording, it names no problem, so an LLM
    may overrule it. The category is that of an action the message mentions, if any."""
    category = next(
        (c for c in (split_label(label)[0] for label in reading.mentions) if c is not None),
        AttentionCategory.OTHER,
    )
    return Decision(True, category, (), MODEL_REASON, NO_FLOOR, False)


def _rank(category: AttentionCategory) -> int:
    try:
        return _PRIORITY.index(category)
    except ValueError:
        return len(_PRIORITY)


def _request(label: str) -> tuple[AttentionCategory, str]:
    category, detail = split_label(label)
    return category or AttentionCategory.OTHER, detail


def _problems(
    reading: Reading, positive_tone: bool
) -> tuple[list[tuple[AttentionCategory, str]], float]:
    """(category, detail) of every problem still standing after fixes, denials and weather,
    and the tone floor they set (see `Decision`)."""
    cues = reading.cues
    found: list[tuple[AttentionCategory, str]] = []
    floor = NO_FLOOR
    solved = _solved(reading, reading.last_problem_at)
    # a lone problem word in a message about the weather or the city, or a goodbye, is about
    # them ("the city beach is dirty", "already missing this place"); in praise, a vague one
    # is a figure of speech ("killer mattress", "the tiramisu was dangerous") while a named
    # nuisance is sarcasm ("love the cigarette smell in our non-smoking room")
    elsewhere = bool(cues & _WEAK_EXCUSES)
    praising = positive_tone and not reading.sarcasm and not cues & _STILL_BAD
    for complaint in reading.complaints:
        category, detail = split_label(complaint.label)
        category = category or AttentionCategory.COMPLAINT
        if solved or _denied(reading, complaint):
            continue
        if category is AttentionCategory.FOLLOW_UP and complaint.sentence in reading.elsewhere:
            continue  # "fog, the plane can't land, circling for an hour": not the hotel's wait
        if (
            complaint.weak
            and category is AttentionCategory.COMPLAINT
            and complaint.sentence in reading.asking
        ):
            continue  # "is smoking allowed on the balcony?" asks about it
        if complaint.weak or detail in _VAGUE:
            if elsewhere and category is AttentionCategory.COMPLAINT:
                continue
            if praising and category in _FIGURATIVE and detail in _FIGURES:
                continue
        found.append((category, detail))
        calm = complaint.cue or category is AttentionCategory.SAFETY
        floor = max(floor, INFERRED_FLOOR if calm else NAMED_FLOOR)
    if not solved and reading.money and (reading.discrepancy or _amounts_disagree(reading)):
        # "we agreed 80, you charged 120", "two holds of 350 and 350": stated as plain facts
        found.append((AttentionCategory.BILLING, "amount"))
        floor = max(floor, INFERRED_FLOOR)
    if not solved:
        found.extend((AttentionCategory.FOLLOW_UP, detail) for detail in reading.follow_ups)
        if any(detail != "ping" for detail in reading.follow_ups):
            floor = max(floor, INFERRED_FLOOR)  # "hello?" says nothing about the tone
    if reading.sarcasm and (reading.negative_seen or reading.complaints):
        found.append((AttentionCategory.COMPLAINT, "sarcasm"))
        floor = max(floor, INFERRED_FLOOR)
    if floor == INFERRED_FLOOR and reading.words > CHAT_WORDS:
        floor = NO_FLOOR  # chat conventions (a reminder, a ping) do not set the tone of prose
    return found, floor


def _solved(reading: Reading, last_problem_at: int) -> bool:
    """Whether the message reports its problems as fixed after naming them ("the AC was
    broken, fixed now, thanks"), with no relapse after the fix ("...but it stopped again")."""
    return (
        Cue.RESOLVED in reading.cues
        and reading.resolved_at >= last_problem_at
        and reading.again_at <= reading.resolved_at
    )


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
        return True  # "we agreed 80 eur, you charged 120"
    if reading.versus and len(amounts) >= 2 and reading.words <= CHAT_WORDS:
        return True  # "the massage was 60 minutes, and the bill says 90"
    return len(amounts) != len(set(amounts))  # "350 and 350": the same charge twice


def _only_questions(reading: Reading) -> bool:
    return reading.info_sentences > 0 and reading.info_sentences >= reading.sentences
