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
  a stated need ("we need a taxi"), or asking whether it is possible ("can I get a late
  checkout?", "можно полотенце?");
- a **question for a fact** is no request: one that asks to be told something ("tell me",
  "подскажите") before it names an action, one built on a question word ("is there a kettle
  in the rooms?", "what time is breakfast"), and asking permission for the guest's own doing
  ("can I bring my dog", "is it possible to hire a car here");
- cues that steer the whole message (a problem reported as fixed, a denial, weather, sad to
  leave, a reminder, a bare ping, a wait counted in hours, an amount other than agreed) are
  collected here and weighed in `hotelbot.domain.rules.attention`.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from hotelbot.domain.rules.labels import WEAK, Cue, split_label

__all__ = ["GENERIC_REQUEST", "INFO_TOPIC", "Complaint", "Reading"]

INFO_TOPIC: Final = "info"  # a request topic that marks a question for information
COMPLAINT_VALENCE: Final = -2.0
GENERIC_REQUEST: Final = "request"
_ASKING_CUES: Final = frozenset({Cue.QUESTION, Cue.INFO, Cue.TELL, Cue.ALTERNATIVE})
# A wait counted in hours is no follow-up when it is the weather's or already over.
_WAIT_EXCUSES: Final = frozenset({Cue.OUTSIDE, Cue.RESOLVED, Cue.THANKS})


class Complaint(NamedTuple):
    """One problem found: its label, where it was, and whether a single word made it."""

    label: str
    sentence: int
    at: int  # token index (the end of the clause for an amenity + fault)
    weak: bool  # one word ("dangerous", "freezing"): praise or weather can outweigh it
    cue: bool = False  # inferred from cues (a rhetorical question), not named by a problem word


class Reading:
    """Mutable state of one pass over a message (one instance per call; small)."""

    __slots__ = (
        "again_at",
        "amounts",
        "asking",
        "clause_faults",
        "clause_mark",
        "clause_objects",
        "clock_times",
        "complaints",
        "contrasts",
        "cue_until",
        "cues",
        "currency",
        "denials",
        "discrepancy",
        "elsewhere",
        "empty_sentences",
        "exclaims",
        "filler",
        "filler_until",
        "follow_ups",
        "info_sentences",
        "known",
        "last_problem_at",
        "lead",
        "mentions",
        "money",
        "negative_seen",
        "notice_sentences",
        "numbers",
        "opener_until",
        "position",
        "question_marks",
        "repeat_word",
        "requests",
        "resolved_at",
        "s_action_at",
        "s_actions",
        "s_ask",
        "s_ask_at",
        "s_cues",
        "s_filler",
        "s_generic",
        "s_imperative",
        "s_index",
        "s_info_at",
        "s_need",
        "s_not_imperative",
        "s_not_imperative_from",
        "s_numbers",
        "s_ordered",
        "s_self_at",
        "s_staff",
        "s_tell_at",
        "s_words",
        "sarcasm",
        "sentence_positive",
        "sentences",
        "total",
        "urgent",
        "urgent_at",
        "versus",
        "weight",
        "words",
    )

    def __init__(self) -> None:
        self.total = 0.0
        self.weight = 1.0
        self.exclaims = 0
        self.known = 0
        self.words = 0
        self.position = 0  # index of the token being read
        self.sarcasm = False
        self.negative_seen = False  # a negative word, problem or complaint occurred
        self.repeat_word = False  # "another", "опять"...: needed by the "great, another" pattern
        self.sentence_positive = 0.0
        self.complaints: list[Complaint] = []
        self.urgent: list[str] = []
        self.urgent_at = -1  # token index of the last emergency word
        self.versus = False  # two facts set against each other ("а", "whereas", "хотя")
        self.requests: list[str] = []  # action labels of the sentences that ask for them
        self.mentions: list[str] = []  # every action named, asked for or not
        self.follow_ups: list[str] = []  # details of waiting and reminder findings
        self.cues: set[str] = set()  # every cue seen in the message
        self.clause_objects: list[str] = []
        self.clause_faults: list[str] = []
        self.clause_mark = 0  # len(complaints) when the current clause began
        self.last_problem_at = -1  # token index of the last problem or fault found
        self.resolved_at = -1  # token index of the last "fixed now"
        self.again_at = -1  # token index of the last "again" / "still"
        self.contrasts: list[int] = []  # token indices of "but", "но"
        self.denials: list[tuple[int, int]] = []  # (sentence, token index) of "nothing wrong"
        self.filler = 0  # words that are greetings, thanks, pings or openers
        self.filler_until = -1  # last token counted as filler
        self.cue_until = -1  # last token of the cue phrase read last ("do we need" hides "need")
        self.question_marks = 0
        self.numbers = 0
        self.clock_times = 0  # numbers written as times ("9:15", "8.30")
        self.amounts: list[str] = []  # numbers that are no clock time
        self.money = False  # a charge or payment named outside a question for a fact
        self.discrepancy = False
        self.currency = False
        self.sentences = 0  # sentences with at least one word
        self.info_sentences = 0  # sentences that ask for a fact and nothing else
        self.notice_sentences = 0  # sentences that only tell the guest's plans (arrival)
        self.empty_sentences = 0  # sentences of greetings, thanks or pings only ("Hi!")
        self.asking: set[int] = set()  # their indices
        self.elsewhere: set[int] = set()  # sentences about weather, flights, the city
        # the sentence being read
        self.s_index = 0
        self.lead = True  # no content word yet in this sentence
        self.opener_until = -1  # last token of an opener ("hi", "good morning", "please")
        self.s_staff = False
        self.s_ask = False
        self.s_ask_at = -1
        self.s_need = False
        self.s_imperative = False
        self.s_ordered = False  # a verb in the imperative mood ("принесите"), not a noun
        self.s_not_imperative = -1  # token index of an "извините"-like word
        self.s_not_imperative_from = -1  # first token of that phrase ("помогите найти")
        self.s_generic = False
        self.s_actions: list[str] = []
        self.s_action_at = -1
        self.s_info_at = -1
        self.s_self_at = -1
        self.s_tell_at = -1
        self.s_cues: set[str] = set()
        self.s_numbers = 0
        self.s_words = 0
        self.s_filler = 0

    def add_complaint(self, label: str, at: int, weak: bool = False, cue: bool = False) -> None:
        self.complaints.append(Complaint(label, self.s_index, at, weak, cue))
        self.last_problem_at = max(self.last_problem_at, at)

    def add_action(self, label: str, at: int) -> None:
        if label == INFO_TOPIC:
            self.add_tell(at)
        elif label:
            self.s_actions.append(label)
            self.mentions.append(label)
            if self.s_action_at < 0:
                self.s_action_at = at
        else:
            self.s_generic = True

    def add_info(self, at: int) -> None:
        self.s_cues.add(Cue.INFO)
        if self.s_info_at < 0:
            self.s_info_at = at

    def add_tell(self, at: int) -> None:
        self.s_cues.add(Cue.TELL)
        if self.s_tell_at < 0:
            self.s_tell_at = at

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
                # without an amenity only a plain fault stands ("broken"); "sharp" or "loose"
                # need something to be sharp or loose
                category = next((f for f in self.clause_faults if f and f != special), "")
            if category:
                self.negative_seen = True
                # an amenity complaint names the clause better than a problem word inside it
                complaint = Complaint(category, self.s_index, self.position, False)
                self.complaints.insert(self.clause_mark, complaint)
                self.total += COMPLAINT_VALENCE * self.weight
            self.clause_faults.clear()
        self.clause_objects.clear()
        self.clause_mark = len(self.complaints)

    def close_sentence(self, question: bool = False) -> None:
        """End the current sentence: decide whether it asked for an action."""
        self.close_clause()
        cues = self.s_cues
        if self.s_words:
            self.sentences += 1
            if self.s_words == self.s_filler:
                self.empty_sentences += 1
        informational = False
        if self.s_imperative or self.s_staff or self.s_need or self.s_ask or self.s_actions:
            informational = self._judge_sentence(cues, question)
        elif cues & _ASKING_CUES:
            informational = True
            self.info_sentences += 1
        if informational:
            self.asking.add(self.s_index)
        elif (
            Cue.NOTICE in cues
            and not (self.s_imperative or self.s_staff or self.s_need or self.s_ask)
            and not self.s_actions
            and not any(c.sentence == self.s_index for c in self.complaints)
        ):
            self.notice_sentences += 1  # "we'll arrive around 6 pm": told, nothing asked
        if Cue.OUTSIDE in cues:
            self.elsewhere.add(self.s_index)
        if cues:
            self._sentence_findings(cues, informational)
        self.cues |= cues
        self.s_index += 1
        self.lead = True
        self.s_staff = self.s_ask = self.s_need = self.s_imperative = self.s_generic = False
        self.s_ordered = False
        self.s_not_imperative = self.s_action_at = self.s_info_at = self.s_ask_at = -1
        self.s_not_imperative_from = -1
        self.s_self_at = self.s_tell_at = -1
        self.s_actions.clear()
        self.s_cues = set()
        self.s_numbers = self.s_words = self.s_filler = 0

    def add_follow_up(self, detail: str) -> None:
        self.follow_ups.append(detail)
        self.last_problem_at = max(self.last_problem_at, self.position)

    def _sentence_findings(self, cues: set[str], informational: bool) -> None:
        if Cue.REMINDER in cues:
            self.add_follow_up("reminder")
        if (
            Cue.AGO in cues
            and Cue.TIME_UNIT in cues
            and not cues & _WAIT_EXCUSES
            and self.sentence_positive <= 0
        ):
            self.add_follow_up("waited")  # "two hours ago", "уже 40 минут"
        if Cue.PING in cues and self.s_words == self.s_filler:
            self.add_follow_up("ping")  # "Hello? Anyone there?"
        if Cue.VERSUS in cues:
            self.versus = True
        if Cue.RHETORICAL in cues:
            self.add_complaint("complaint: rhetorical", self.position, cue=True)
        if not informational:
            # "is the shuttle free or is there a charge?" asks; "we agreed 80" states
            self.money = self.money or Cue.MONEY in cues
            self.discrepancy = self.discrepancy or Cue.DISCREPANCY in cues
            self.currency = self.currency or Cue.CURRENCY in cues

    def _judge_sentence(self, cues: set[str], question: bool) -> bool:
        """Record the sentence's request, if it makes one. True when it asks for a fact."""
        actions = [a for a in self.s_actions if not a.startswith(WEAK)] or self.s_actions
        # "could you tell me when...", "подскажите, где...": asking to be told, unless the
        # action comes first or a request follows ("подскажите, можно заказать трансфер?",
        # "we'd love a transfer, whatever car you recommend")
        tell_first = (
            self.s_tell_at >= 0
            and (self.s_action_at < 0 or self.s_tell_at < self.s_action_at)
            and not self.s_tell_at < self.s_ask_at
        )
        # "what time", "до скольки": a question for a fact, unless staff were asked for the
        # action before it ("book us a table, what time do you close?")
        fact = Cue.INFO in cues and not (
            (self.s_staff or self.s_ordered) and 0 <= self.s_action_at < self.s_info_at
        )
        if fact or (tell_first and not self.s_ordered):
            self.info_sentences += 1
            return True
        staff = self.s_staff or self.s_imperative or self.s_need
        if actions:
            if self.s_staff or self.s_ordered:
                self.requests.extend(actions)
                return False
            if Cue.SELF in cues and (self.s_ask or self.s_self_at < self.s_action_at):
                # "can I pay for the spa by card?", "хотим купить воды"; not "we need a car
                # with a child seat to go to the zoo"
                self.info_sentences += 1
                return True
            if staff:
                self.requests.extend(actions)
                return False
            if Cue.ALTERNATIVE in cues:
                self.info_sentences += 1  # "can we book the tour here or better in town?"
                return True
            if self.s_ask:
                self.requests.extend(actions)
                return False
            if question or Cue.QUESTION in cues:
                if Cue.QUESTION not in cues:
                    self.requests.extend(actions)  # "Extra pillows for 204?", "taxi at 7?"
                    return False
                self.info_sentences += 1  # "is there a kettle in the rooms?"
                return True
            return False
        if self.s_ordered or ((self.s_staff or self.s_imperative) and self.s_generic):
            # "перезвоните мне", "please call me back": an order without a known object
            self.requests.append(GENERIC_REQUEST)
            return False
        if cues & _ASKING_CUES or (question and self.s_ask):
            self.info_sentences += 1
            return True
        return False
