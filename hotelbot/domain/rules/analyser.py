"""The rule-based analyser: lexicon valences, negation, intensity, contrast and hotel problems.

How a message is read (all in one pass over its tokens):

- Each word, emoji or emoticon gets a valence from the lexicon (Russian by stems).
- A negator ("not", "never", "не", "ни", "без") flips the next sentiment word within three
  tokens of the same clause and weakens it ("not good" is less bad than "bad"); a negator that
  finds nothing to flip adds its own small valence, because "it does not charge" is a complaint.
- Intensifiers ("very", "очень") strengthen the next sentiment word, diminishers weaken it;
  a word in capitals inside a normally written message counts 30 % more, and "!" adds emphasis.
- Contrast ("but", "но", "зато"): what came before counts half, what follows 1.5 times.
- Hotel problems: a problem phrase ("still waiting", "грязно"), or an amenity named in the same
  clause as a fault ("the AC ... not working", "кондиционер не работает"), is a complaint. It pulls
  the tone negative and always sets ``requires_attention``, whatever the rest of the message says.
- A request (a polite marker such as "could you" / "можно" plus something to bring, book or
  arrange) needs attention but is neutral in tone; urgent safety words always need attention.
- Sarcasm is only trusted when it is explicit: "... NOT" at the end, "great, another ...",
  or a listed marker ("yeah right", "(сарказм)"); then positive words count as negative.

The score is the summed valence squashed into [-1, 1] (s / sqrt(s² + 15)).
"""

from __future__ import annotations

import math
import re
from typing import Final

from hotelbot.domain.rules.language import UNDETERMINED, detect_language
from hotelbot.domain.rules.lexicon import Lexicon, Phrase, PhraseKind, TokenEntry, matches
from hotelbot.domain.rules.tokens import NUMBER, PUNCT, WORD, Token, tokenize
from hotelbot.domain.sentiment import Sentiment, Verdict

__all__ = ["ANALYSER_NAME", "MAX_CHARS", "RuleAnalyser"]

ANALYSER_NAME: Final = "rules"
# Longer texts are cut: guest messages are short, and the cut keeps the worst case bounded.
MAX_CHARS: Final = 8_000

POSITIVE_THRESHOLD: Final = 0.25
NEGATIVE_THRESHOLD: Final = -0.08
SQUASH_ALPHA: Final = 15.0
NEGATION_WINDOW: Final = 3
NEGATED_POSITIVE_FACTOR: Final = -0.75  # "not good": clearly negative
NEGATED_NEGATIVE_FACTOR: Final = -0.45  # "not bad": mildly positive
CAPS_BOOST: Final = 0.3
EXCLAIM_BOOST: Final = 0.3
MAX_EXCLAIMS: Final = 4
BEFORE_CONTRAST: Final = 0.5
AFTER_CONTRAST: Final = 1.5
PROBLEM_VALENCE: Final = -2.0
COMPLAINT_VALENCE: Final = -2.0
URGENT_VALENCE: Final = -1.5
# A complaint whose message is not clearly positive overall is negative in tone.
COMPLAINT_POSITIVE_FLOOR: Final = 0.45
REQUEST_POSITIVE_FLOOR: Final = 0.5

_SENTENCE_END: Final = frozenset(".!?…")
_SARCASM_RE: Final = (
    # "Excellent service as always... NOT"
    re.compile(r"(?:\.\.+|…|,|!|-)\s*not\s*[.!]*\s*$", re.IGNORECASE),
    # "Great, another night without sleep"; "Отлично, опять ..."
    re.compile(
        r"(?:^|[\s.!,])(?:great|fantastic|wonderful|perfect|brilliant|lovely|awesome|"
        r"excellent|amazing|super|just what i needed|отлично|прекрасно|замечательно|"
        r"великолепно|супер|класс|здорово|чудесно)\s*[,!.…]+\s*"
        r"(?:another|again|more|once again|опять|снова|еще|ещё)\b",
        re.IGNORECASE,
    ),
)


class _Reading:
    """Mutable state of one pass over a message (one instance per call; small)."""

    __slots__ = (
        "clause_faults",
        "clause_mark",
        "clause_objects",
        "complaints",
        "exclaims",
        "known",
        "request",
        "sarcasm",
        "sentence_marker",
        "sentence_topics",
        "topics",
        "total",
        "urgent",
        "weight",
    )

    def __init__(self) -> None:
        self.total = 0.0
        self.weight = 1.0
        self.exclaims = 0
        self.known = 0
        self.sarcasm = False
        self.request = False
        self.sentence_marker = False
        self.complaints: list[str] = []
        self.urgent: list[str] = []
        self.topics: list[str] = []
        self.sentence_topics: list[str] = []
        self.clause_objects: list[str] = []
        self.clause_faults: list[str] = []
        self.clause_mark = 0  # len(complaints) when the current clause began

    def close_clause(self) -> None:
        if self.clause_faults:
            if self.clause_objects:
                category = self.clause_objects[0]
            else:
                category = next((f for f in self.clause_faults if f), "")
            if category:
                # an amenity complaint names the clause better than a problem word inside it
                self.complaints.insert(self.clause_mark, category)
                self.total += COMPLAINT_VALENCE * self.weight
            self.clause_faults.clear()
        self.clause_objects.clear()
        self.clause_mark = len(self.complaints)

    def close_sentence(self) -> None:
        self.close_clause()
        if self.sentence_marker and self.sentence_topics:
            self.request = True
            self.topics.extend(self.sentence_topics)
        self.sentence_marker = False
        self.sentence_topics.clear()


def _match_end(phrase: Phrase, tokens: list[Token], start: int) -> int:
    """Index of the last token of `phrase` matched at `start` (first element already known to
    match), or -1. A GAP skips up to two words or numbers, never punctuation."""
    matchers = phrase.matchers
    count = len(tokens)
    position = start + 1
    index = 1
    while index < len(matchers):
        matcher = matchers[index]
        if matcher is None:
            following = matchers[index + 1]
            assert following is not None
            for skip in range(3):
                at = position + skip
                if at >= count or tokens[at].kind == PUNCT:
                    return -1
                if matches(following, tokens[at].text):
                    position = at + 1
                    index += 2
                    break
            else:
                return -1
            continue
        if position >= count or tokens[position].kind == PUNCT:
            return -1
        if not matches(matcher, tokens[position].text):
            return -1
        position += 1
        index += 1
    return position - 1


class RuleAnalyser:
    """Scores guest messages with the rules above. Synchronous, pure and thread-safe.

    `analyse` never raises, for any string (empty, emoji only, very long, mixed scripts)."""

    name: str = ANALYSER_NAME

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self._lexicon = lexicon if lexicon is not None else Lexicon.load()

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        """Return the verdict for one message. Deterministic; never raises."""
        try:
            return self._analyse(text if isinstance(text, str) else str(text), language_hint)
        except Exception:  # noqa: BLE001 - a fallback analyser must answer; a bug must not stall
            return Verdict(Sentiment.NEUTRAL, 0.0, False, "unreadable", UNDETERMINED, self.name)

    def _analyse(self, text: str, language_hint: str | None) -> Verdict:
        text = text[:MAX_CHARS]
        tokens = tokenize(text)
        state = self._read(tokens)
        lexicon = self._lexicon
        if not state.sarcasm and len(text) < 2_000:
            state.sarcasm = any(rx.search(text) for rx in _SARCASM_RE)

        total = state.total
        if state.sarcasm and total > -1.0:
            total = -abs(total) * 0.8 - 1.0
        if total and state.exclaims:
            total += math.copysign(min(state.exclaims, MAX_EXCLAIMS) * EXCLAIM_BOOST, total)
        score = total / math.sqrt(total * total + SQUASH_ALPHA)

        complaints = tuple(dict.fromkeys(state.complaints))
        urgent = tuple(dict.fromkeys(state.urgent))
        if score >= POSITIVE_THRESHOLD:
            sentiment = Sentiment.POSITIVE
        elif score <= NEGATIVE_THRESHOLD:
            sentiment = Sentiment.NEGATIVE
        else:
            sentiment = Sentiment.NEUTRAL
        if (complaints or urgent) and score < COMPLAINT_POSITIVE_FLOOR:
            sentiment = Sentiment.NEGATIVE
            score = min(score, -0.3)
        elif state.request and not complaints and -0.35 < score < REQUEST_POSITIVE_FLOOR:
            # "Could you bring extra pillows, please? Thanks!" is a request, not praise.
            sentiment = Sentiment.NEUTRAL
            score = max(min(score, POSITIVE_THRESHOLD / 2), NEGATIVE_THRESHOLD / 2)

        attention = bool(complaints or urgent or state.request) or (
            sentiment is Sentiment.NEGATIVE
        )
        if urgent:
            reason = f"urgent: {urgent[0]}"
        elif complaints:
            reason = f"complaint: {complaints[0]}"
        elif state.sarcasm and sentiment is Sentiment.NEGATIVE:
            reason = "complaint: sarcasm"
        elif state.request:
            topic = next((t for t in state.topics if t), "")
            reason = f"request: {topic}" if topic else "request"
        elif sentiment is Sentiment.POSITIVE:
            reason = "praise"
        elif sentiment is Sentiment.NEGATIVE:
            reason = "negative tone"
        else:
            reason = "neutral"

        hint = (language_hint or "").strip().lower()[:2]
        language = hint if hint.isalpha() and len(hint) == 2 else ""
        if not language:
            language = detect_language(tokens, lexicon.stopwords, state.known)
        return Verdict(
            sentiment=sentiment,
            score=max(-1.0, min(1.0, score)),
            requires_attention=attention,
            reason=reason,
            language=language,
            analyser=self.name,
            categories=urgent + tuple(c for c in complaints if c not in urgent),
        )

    def _read(self, tokens: list[Token]) -> _Reading:
        lexicon = self._lexicon
        state = _Reading()
        words = [t for t in tokens if t.kind == WORD]
        shouting = bool(words) and all(t.caps or len(t.text) < 2 for t in words)
        neg_until = -1  # last token index a pending negation reaches
        neg_used = True
        neg_bare = 0.0
        boost = 0.0
        boost_at = -10
        skip_until = -1
        count = len(tokens)
        for index in range(count):
            token = tokens[index]
            kind = token.kind
            if kind == PUNCT:
                if not neg_used:
                    state.total += neg_bare * state.weight
                    state.clause_faults.append("")
                    neg_used = True
                neg_until = -1
                text = token.text
                state.exclaims += text.count("!")
                if any(ch in _SENTENCE_END for ch in text):
                    state.close_sentence()
                else:
                    state.close_clause()
                continue
            if index <= skip_until or kind == NUMBER:
                continue
            entry: TokenEntry = lexicon.entry(token.text)
            if entry.phrases:
                consumed = self._phrases(entry, tokens, index, state, index <= neg_until)
                if consumed >= index:
                    if index <= neg_until:
                        neg_used = True
                    skip_until = consumed
                    continue
            if entry.negator is not None and kind == WORD:
                if not neg_used:
                    state.total += neg_bare * state.weight
                    state.clause_faults.append("")
                neg_until = index + NEGATION_WINDOW
                neg_used = False
                neg_bare = entry.negator
                continue
            if entry.contrast:
                if not neg_used:
                    state.total += neg_bare * state.weight
                    state.clause_faults.append("")
                    neg_used = True
                neg_until = -1
                state.close_clause()
                state.total *= BEFORE_CONTRAST
                state.weight = AFTER_CONTRAST
                continue
            if entry.intensity:
                boost = entry.intensity
                boost_at = index
                continue
            valence = entry.valence
            if valence is None:
                continue
            state.known += 1
            if index - boost_at <= 2:
                valence *= 1.0 + boost * (1.0 if index - boost_at == 1 else 0.5)
            if token.caps and not shouting:
                valence *= 1.0 + CAPS_BOOST
            if index <= neg_until and kind == WORD:
                valence *= NEGATED_POSITIVE_FACTOR if valence > 0 else NEGATED_NEGATIVE_FACTOR
                neg_used = True
            state.total += valence * state.weight
        if not neg_used:
            state.total += neg_bare * state.weight
            state.clause_faults.append("")
        state.close_sentence()
        return state

    @staticmethod
    def _phrases(
        entry: TokenEntry, tokens: list[Token], index: int, state: _Reading, negated: bool
    ) -> int:
        """Apply the phrases that start at `index`; return the last token they consume
        (or -1 when none consumes tokens: objects, markers and topics only annotate)."""
        consumed = -1
        seen: set[str] = set()
        for phrase in entry.phrases:
            kind = phrase.kind
            if kind in seen:
                continue
            end = _match_end(phrase, tokens, index) if phrase.length > 1 else index
            if end < 0:
                continue
            seen.add(kind)
            if kind == PhraseKind.SENTIMENT:
                value = phrase.value
                if negated:
                    value *= NEGATED_POSITIVE_FACTOR if value > 0 else NEGATED_NEGATIVE_FACTOR
                state.total += value * state.weight
                state.known += 1
                consumed = max(consumed, end)
            elif kind == PhraseKind.PROBLEM:
                if negated and phrase.length == 1:
                    # "not dirty", "не грязно": the problem is denied
                    state.total += 0.3 * state.weight
                else:
                    state.complaints.append(phrase.label)
                    state.total += PROBLEM_VALENCE * state.weight
                consumed = max(consumed, end)
            elif kind == PhraseKind.URGENT:
                state.urgent.append(phrase.label)
                state.total += URGENT_VALENCE * state.weight
                consumed = max(consumed, end)
            elif kind == PhraseKind.FAULT:
                if not (negated and phrase.length == 1):
                    state.clause_faults.append(phrase.label)
                if phrase.length > 1:
                    # a single word ("slow", "cold") keeps its own valence as well
                    consumed = max(consumed, end)
            elif kind == PhraseKind.OBJECT:
                state.clause_objects.append(phrase.label)
            elif kind == PhraseKind.REQUEST:
                state.sentence_marker = True
            elif kind == PhraseKind.TOPIC:
                state.sentence_topics.append(phrase.label)
            elif kind == PhraseKind.SARCASM:
                state.sarcasm = True
                consumed = max(consumed, end)
        return consumed
