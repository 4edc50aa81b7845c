"""What one pass over a message found: tone, problems, and the requests-and-actions layer.

`Reading` is the mutable state of `RuleAnalyser` while it walks the tokens of one message
(one instance per call). The sentiment part (valences, negation, contrast) and the problem
part (a problem phrase, or an amenity and a fault in one clause) were there first; this module
adds the layer that asks "does someone at the hotel have to *do* something?", sentence by
sentence:

- an **action** is something staff provide or do (towels, a taxi, a late check-out, printing,
  a table), named by ``[request_topics]`` with its category ("transport: taxi");
- a **request** is a sentence that asks for an action: addressed to staff ("could you",
  "please", a Russian imperative "закажите", an English sentence that starts with "bring"),
  or a stated need ("we need a taxi"), or asking whether it is possible ("can I get a late
  checkout?", "можно полотенце?");
- a question for a fact is no request ("what time is breakfast", "can I bring my dog",
  "is it possible to walk to the beach"): a question word or the guest's own action makes a
  sentence informational unless what it names is something staff hand over (towels, a cot,
  an invoice: "is there an iron?" is a request);
- cues that steer the whole message (a problem reported as fixed, a denial, weather, sad to
  leave, a reminder, a bare ping, a wait counted in hours, an amount other than agreed) are
  collected here and weighed in `hotelbot.domain.rules.attention`.
"""

from __future__ import annotations

from typing import Final

from hotelbot.domain.categories import AttentionCategory
from hotelbot.domain.rules.labels import WEAK, Cue, split_label

__all__ = ["INFO_TOPIC", "Reading"]

INFO_TOPIC: Final = "info"  # a request topic that marks a question for information
COMPLAINT_VALENCE: Final = -2.0
# What staff hand over or change: asking whether there is one is asking for one ("is there an
# iron?", "is late check-out possible?").
DELIVERABLE: Final = frozenset(
    {
        AttentionCategory.HOUSEKEEPING_ITEM,
        AttentionCategory.SPECIAL_NEED,
        AttentionCategory.BILLING_DOCUMENT,
        AttentionCategory.STAY_CHANGE,
    }
)
GENERIC_REQUEST: Final = "request"


class Reading:
    """Mutable state of one pass over a message (one instance per call; small)."""

    __slots__ = (
        "clause_faults",
        "clause_mark",
        "clause_objects",
        "complaints",
        "cues",
        "exclaims",
        "filler",
        "filler_until",
        "follow_ups",
        "question_marks",
        "known",
        "last_problem_at",
        "lead",
        "negative_seen",
        "numbers",
        "opener_until",
        "clock_times",
        "info_sentences",
        "problem_sentence",
        "repeat_word",
        "requests",
        "resolved_at",
        "again_at",
        "sarcasm",
        "s_actions",
        "s_ask",
        "s_cues",
        "s_generic",
        "s_imperative",
        "s_index",
        "s_need",
        "s_not_imperative",
        "s_numbers",
        "s_ordered",
        "s_staff",
        "sentence_positive",
        "sentences",
        "denied_sentences",
        "complaint_sentences",
        "total",
        "urgent",
        "weight",
        "words",
    )

    def __init__(self) -> None:
        self.total = 0.0
        self.weight = 1.0
        self.exclaims = 0
        self.known = 0
        self.words = 0
        self.sarcasm = False
        self.negative_seen = False  # a negative word, problem or complaint occurred
        self.repeat_word = False  # "another", "опять"...: needed by the "great, another" pattern
        self.sentence_positive = 0.0
        self.complaints: list[str] = []  # problem labels, in order
        self.complaint_sentences: list[int] = []  # the sentence of each complaint
        self.urgent: list[str] = []
        self.follow_ups: list[str] = []  # details of waiting and reminder findings
        self.filler = 0  # words that are greetings, thanks, pings or openers
        self.filler_until = -1  # last token counted as filler
        self.question_marks = 0
        self.requests: list[str] = []  # action labels of the sentences that ask for them
        self.cues: set[str] = set()  # every cue seen in the message
        self.clause_objects: list[str] = []
        self.clause_faults: list[str] = []
        self.clause_mark = 0  # len(complaints) when the current clause began
        self.last_problem_at = -1  # token index of the last problem or fault found
        self.resolved_at = -1  # token index of the last "fixed now"
        self.again_at = -1  # token index of the last "again" / "still"
        self.problem_sentence = 0
        self.numbers = 0
        self.clock_times = 0  # numbers written as times ("9:15", "8.30")
        self.sentences = 0  # sentences with at least one word
        self.info_sentences = 0  # sentences that ask for a fact and nothing else
        self.denied_sentences: set[int] = set()
        # the sentence being read
        self.s_index = 0
        self.lead = True  # no content word yet in this sentence
        self.opener_until = -1  # last token of an opener ("hi", "good morning", "please")
        self.s_staff = False
        self.s_ask = False
        self.s_need = False
        self.s_imperative = False
        self.s_ordered = False  # a verb in the imperative mood ("принесите"), not a noun
        self.s_not_imperative = -1  # token index of an "извините"-like word
        self.s_generic = False
        self.s_actions: list[str] = []
        self.s_cues: set[str] = set()
        self.s_numbers = 0

    def add_complaint(self, label: str, at: int) -> None:
        self.complaints.append(label)
        self.complaint_sentences.append(self.s_index)
        self.last_problem_at = max(self.last_problem_at, at)

    def close_clause(self) -> None:
        if self.clause_faults:
            category = ""
            # a fault with its own category ("loose" is a hazard) names the clause's problem
            special = next((f for f in self.clause_faults if f and split_label(f)[0]), "")
            if special and self.clause_objects:
                kind = split_label(special)[0]
                assert kind is not None
                category = f"{kind.value}: {split_label(self.clause_objects[0])[1]}"
            elif self.clause_objects:
                category = self.clause_objects[0]
            else:
                category = special or next((f for f in self.clause_faults if f), "")
            if category:
                self.negative_seen = True
                # an amenity complaint names the clause better than a problem word inside it
                self.complaints.insert(self.clause_mark, category)
                self.complaint_sentences.insert(self.clause_mark, self.s_index)
                self.total += COMPLAINT_VALENCE * self.weight
            self.clause_faults.clear()
        self.clause_objects.clear()
        self.clause_mark = len(self.complaints)

    def close_sentence(self, question: bool = False) -> None:
        """End the current sentence: decide whether it asked for an action."""
        self.close_clause()
        cues = self.s_cues
        actions = [a for a in self.s_actions if a and not a.startswith(WEAK)]
        if not actions:
            actions = [a for a in self.s_actions if a]
        if not self.lead:
            self.sentences += 1
        if self.s_imperative or self.s_staff or self.s_need or self.s_ask or actions or cues:
            self._judge_sentence(actions, cues, question)
        if cues:
            self._sentence_findings(cues)
        self.cues |= cues
        self.s_index += 1
        self.lead = True
        self.s_staff = self.s_ask = self.s_need = self.s_imperative = self.s_generic = False
        self.s_ordered = False
        self.s_not_imperative = -1
        self.s_actions.clear()
        self.s_cues = set()
        self.s_numbers = 0

    def _sentence_findings(self, cues: set[str]) -> None:
        if Cue.DENIAL in cues:
            self.denied_sentences.add(self.s_index)
        if Cue.REMINDER in cues:
            self.follow_ups.append("reminder")
        if Cue.AGO in cues and Cue.TIME_UNIT in cues:
            self.follow_ups.append("waited")  # "two hours ago", "уже 40 минут"
        if Cue.MONEY in cues and (
            Cue.DISCREPANCY in cues or (Cue.CURRENCY in cues and self.s_numbers >= 2)
        ):
            # "we agreed 80, you charged 120": an amount other than agreed, stated as a fact
            self.add_complaint("billing: amount", -1)
        if Cue.RHETORICAL in cues:
            self.add_complaint("complaint: rhetorical", -1)

    def _judge_sentence(self, actions: list[str], cues: set[str], question: bool) -> None:
        if Cue.INFO in cues and not self.s_imperative:
            # "could you tell me when...", "подскажите, пожалуйста": a question for a fact
            self.info_sentences += 1
            return
        staff = self.s_staff or self.s_imperative or self.s_need
        if actions:
            deliverable = any(split_label(a)[0] in DELIVERABLE for a in actions)
            if staff:
                self.requests.extend(actions)
                return
            if self.s_ask or question or Cue.QUESTION in cues:
                informational = Cue.SELF in cues or Cue.QUESTION in cues
                if informational and not deliverable:
                    self.info_sentences += 1
                    return
                if self.s_ask or deliverable:
                    self.requests.extend(actions)
                    return
            return
        if self.s_ordered or ((self.s_staff or self.s_imperative) and self.s_generic):
            # "перезвоните мне", "please call me back": an order without a known object
            self.requests.append(GENERIC_REQUEST)
            return
        if Cue.QUESTION in cues or (question and self.s_ask):
            self.info_sentences += 1
