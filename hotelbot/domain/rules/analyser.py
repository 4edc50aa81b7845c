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
  A question for information ("could you tell me...", "подскажите") is no request, and
  praise words inside a question ("can you recommend a good place?") are mostly discounted.
- "too" / "слишком" before a word with no valence of its own ("too big") is a mild complaint.
- Sarcasm is only trusted when it is explicit: "... NOT" at the end, a listed marker ("yeah
  right", "(сарказм)"), or a cue like "great, another ..." / "ну спасибо" in a message that also
  names something bad; then the positive words count as negative.

The score is the summed valence squashed into [-1, 1] (s / sqrt(s² + 15)); >= 0.2 is positive,
<= -0.05 negative. The thresholds were chosen on the dev halves of the shared eval sets.
"""

from __future__ import annotations

import math
import re
from typing import Final

from hotelbot.domain.rules.attention import (
    BARE_HELP,
    NO_FLOOR,
    decide,
    model_decision,
    model_may_add,
)
from hotelbot.domain.rules.labels import Cue
from hotelbot.domain.rules.language import UNDETERMINED, detect_language
from hotelbot.domain.rules.lexicon import (
    EMPTY_ENTRY,
    Lexicon,
    Phrase,
    PhraseKind,
    TokenEntry,
    matches,
)
from hotelbot.domain.rules.model import AttentionModel
from hotelbot.domain.rules.reading import Reading
from hotelbot.domain.rules.tokens import NUMBER, PUNCT, WORD, Token, tokenize
from hotelbot.domain.rules.translit import Transliterator
from hotelbot.domain.sentiment import AnalyserName, Sentiment, Verdict

__all__ = ["ANALYSER_NAME", "MAX_CHARS", "RuleAnalyser"]

ANALYSER_NAME: Final = AnalyserName.RULES
# Longer texts are cut: guest messages are short, and the cut keeps the worst case bounded.
MAX_CHARS: Final = 8_000

POSITIVE_THRESHOLD: Final = 0.2
NEGATIVE_THRESHOLD: Final = -0.05
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
URGENT_VALENCE: Final = -1.5
# A complaint whose message is not clearly positive overall is negative in tone.
REQUEST_POSITIVE_FLOOR: Final = 0.5
QUESTION_DAMPING: Final = 0.8
# Negators that deny a whole problem phrase after them ("never run out of"); "нет" and "no"
# stand after or inside Russian and English complaints ("ответа нет, уже два часа").
_PRE_NEGATORS: Final = frozenset(("not", "never", "не", "никогда"))
# Words after a problem word that deny it ("шума не было", "тараканов нет").
_POST_NEGATIONS: Final = frozenset(
    {("нет",), ("не", "было"), ("не", "слышно"), ("не", "видно"), ("не", "замечено")}
)
_THEN_AND_NOW: Final = frozenset({Cue.NOW, Cue.AGO})
# Question words that only ask when they open a sentence ("..., which was free" asks nothing).
_WH_WORDS: Final = frozenset(
    [
        "what",
        "which",
        "when",
        "where",
        "how",
        "who",
        "why",
        "что",
        "какой",
        "какая",
        "какое",
        "какие",
        "когда",
        "где",
        "как",
        "куда",
        "кто",
        "сколько",
        "откуда",
    ]
)
_TRIPLE_RE: Final = re.compile(r"(\w)\1\1")
CLEARLY_POSITIVE: Final = 0.45  # a tone this positive outweighs a lone problem word
# The trained model adds a message the rules let pass only when it is this sure (chosen by
# cross-validation; see tests/eval/train_attention.py and the commit that added the model).
MODEL_THRESHOLD: Final = 0.9
_CLOCK_RE: Final = re.compile(r"\d{1,2}[:.]\d{2}")
# Words that carry no content of their own: a message of only these and "?" is a bare ping.
_FILLER_CUES: Final = frozenset({Cue.OPENER, Cue.THANKS, Cue.PING})
EXCESS_VALENCE: Final = -0.8
_EXCESS: Final = frozenset(("too", "слишком", "чересчур"))

_SENTENCE_END: Final = frozenset(".!?…")
_REPEAT_WORDS: Final = frozenset(
    ("another", "again", "more", "once", "опять", "снова", "еще", "just")
)
_SARCASM_END_RE: Final = re.compile(r"(?:\.\.+|…|,|!|-)\s*not\s*[.!]*\s*$", re.IGNORECASE)
# Weaker cues: trusted only when the message also names something bad ("Great, another night
# without sleep" is sarcasm; "Great, more towels arrived" is not).
_SARCASM_CUE_RE: Final = re.compile(
    r"(?:^|[\s.!,])(?:(?:great|fantastic|wonderful|perfect|brilliant|lovely|awesome|excellent|"
    r"amazing|super|отлично|прекрасно|замечательно|великолепно|супер|класс|здорово|чудесно)"
    r"\s*[,!.…]+\s*(?:another|again|more|once again|опять|снова|еще)\b"
    r"|just great|ну спасибо|ага,? конечно|ну конечно)",
    re.IGNORECASE,
)


def _match_end(phrase: Phrase, tokens: list[Token], start: int) -> int:
    """Index of the last token of `phrase` matched at `start` (first element already known to
    match), or -1. A GAP skips up to two words or numbers and any commas, no other punctuation."""
    matchers = phrase.matchers
    count = len(tokens)
    position = start + 1
    index = 1
    while index < len(matchers):
        matcher = matchers[index]
        if matcher is None:
            following = matchers[index + 1]
            assert following is not None
            at = position
            skipped = 0
            while True:
                if at >= count:
                    return -1
                token = tokens[at]
                if token.kind == PUNCT:
                    if token.text != ",":
                        return -1
                    at += 1  # "позовите, пожалуйста, менеджера": commas are free
                    continue
                if matches(following, token.text):
                    break
                skipped += 1
                if skipped > 2:
                    return -1
                at += 1
            position = at + 1
            index += 2
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

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        *,
        model: AttentionModel | None = None,
        use_model: bool = True,
    ) -> None:
        """`lexicon`: the built-in one by default. `model`: the packaged attention model by
        default (when the package ships one); `use_model=False` reads with the rules alone."""
        self._lexicon = lexicon if lexicon is not None else Lexicon.load()
        self._model = (model or AttentionModel.load()) if use_model else None
        russian_stopwords = self._lexicon.stopwords.get("ru", frozenset())
        self._translit = Transliterator(
            self._lexicon.knows_russian,
            self._lexicon.knows_english,
            russian_stopwords.__contains__,
        )

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    def normalise(self, text: str) -> str:
        """The text as the rules read it: cut to MAX_CHARS, mixed-script words in one script,
        transliterated Russian in Cyrillic. Pure; never raises for a string."""
        return self._translit.normalise(text[:MAX_CHARS])

    def analyse(self, text: str, *, language_hint: str | None = None) -> Verdict:
        """Return the verdict for one message. Deterministic; never raises."""
        try:
            return self._analyse(text if isinstance(text, str) else str(text), language_hint)
        except Exception:
            return Verdict(Sentiment.NEUTRAL, 0.0, False, "unreadable", UNDETERMINED, self.name)

    def _analyse(self, text: str, language_hint: str | None) -> Verdict:
        text = self._translit.normalise(text[:MAX_CHARS])
        tokens = tokenize(text)
        state = self._read(tokens)
        lexicon = self._lexicon
        if not state.sarcasm and len(text) < 2_000:
            # cheap token checks first: both patterns need a word only they look for
            last_words = [t.text for t in tokens[-3:] if t.kind == WORD]
            if last_words and last_words[-1] == "not":
                # "Excellent service as always... NOT"
                state.sarcasm = _SARCASM_END_RE.search(text) is not None
            if not state.sarcasm and state.negative_seen and (state.repeat_word or "ну" in text):
                state.sarcasm = _SARCASM_CUE_RE.search(text.replace("ё", "е")) is not None
        if (
            state.words == state.filler
            and "ping" not in state.follow_ups
            and (state.question_marks or Cue.PING in state.cues or _TRIPLE_RE.search(text))
        ):
            # "hello??", "???", "ау", "hellooooo": a bare ping after silence
            state.follow_ups.append("ping")
        if state.cues & _THEN_AND_NOW and state.clock_times and state.numbers >= 2:
            # "ordered at 8, it is 9:15 now", "taxi was booked for 6:00, it's 6:20"
            state.follow_ups.append("ordered time")

        total = state.total
        if state.sarcasm and total > -1.0:
            total = -abs(total) * 0.8 - 1.0
        if total and state.exclaims:
            total += math.copysign(min(state.exclaims, MAX_EXCLAIMS) * EXCLAIM_BOOST, total)
        score = total / math.sqrt(total * total + SQUASH_ALPHA)
        if score >= POSITIVE_THRESHOLD:
            sentiment = Sentiment.POSITIVE
        elif score <= NEGATIVE_THRESHOLD:
            sentiment = Sentiment.NEGATIVE
        else:
            sentiment = Sentiment.NEUTRAL

        decision = decide(
            state,
            sentiment is Sentiment.NEGATIVE,
            score >= CLEARLY_POSITIVE and not state.sarcasm,
            score,
        )
        if (
            not decision.requires_attention
            and self._model is not None
            and model_may_add(state, sentiment is Sentiment.POSITIVE)
            and self._model.probability(text) >= MODEL_THRESHOLD
        ):
            decision = model_decision(state)
        if score < decision.tone_floor:
            sentiment = Sentiment.NEGATIVE
            score = min(score, -0.3)
        elif (
            decision.requires_attention
            and decision.tone_floor == NO_FLOOR
            and decision.categories
            and decision.reason != "request"  # a bare "bring it!" keeps its tone
            and -0.35 < score < REQUEST_POSITIVE_FLOOR
        ):
            # "Could you bring extra pillows, please? Thanks!" is a request, not praise.
            sentiment = Sentiment.NEUTRAL
            score = max(min(score, POSITIVE_THRESHOLD / 2), NEGATIVE_THRESHOLD / 2)

        if decision.requires_attention:
            reason = decision.reason
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
            requires_attention=decision.requires_attention,
            reason=reason,
            language=language,
            analyser=self.name,
            categories=decision.categories,
            category=decision.category,
        )

    def _read(self, tokens: list[Token]) -> Reading:
        lexicon = self._lexicon
        state = Reading()
        shouting: bool | None = None  # the whole message in capitals; worked out when needed
        entry_of = lexicon.entry
        neg_until = -1  # last token index a pending negation reaches
        neg_at = -10  # index of the pending negator
        neg_used = True
        neg_bare = 0.0
        boost = 0.0
        boost_at = -10
        skip_until = -1
        count = len(tokens)
        for index, token in enumerate(tokens):
            text, kind, caps = token
            state.position = index
            if kind == PUNCT:
                if not neg_used:
                    state.total += neg_bare * state.weight
                    state.clause_faults.append("")
                    neg_used = True
                neg_until = -1
                state.exclaims += text.count("!")
                question = "?" in text
                if question:
                    state.question_marks += 1
                    if state.sentence_positive > 0:
                        # asking for something good ("could you recommend a good place?")
                        state.total -= QUESTION_DAMPING * state.sentence_positive
                if any(ch in _SENTENCE_END for ch in text):
                    if question and index and tokens[index - 1].text in _EXISTS:
                        state.s_cues.add(Cue.QUESTION)  # "Парковка есть?" asks whether
                    state.close_sentence(question)
                    state.sentence_positive = 0.0
                else:
                    state.close_clause()
                continue
            if kind == NUMBER:
                state.numbers += 1
                state.s_numbers += 1
                if _CLOCK_RE.fullmatch(text):
                    state.clock_times += 1
                else:
                    state.amounts.append(text)
                continue
            if kind == WORD:
                state.words += 1
                state.s_words += 1
            if index <= skip_until:
                continue
            leading = state.lead
            if kind == WORD and index > state.opener_until:
                state.lead = False
            entry: TokenEntry = entry_of(text)
            if entry is EMPTY_ENTRY:
                continue  # most tokens: nothing to do
            if text in _REPEAT_WORDS:
                state.repeat_word = True
            consumed = -1
            if entry.phrases:
                consumed = self._phrases(
                    lexicon,
                    entry,
                    tokens,
                    index,
                    state,
                    index <= neg_until,
                    index - neg_at <= 2,
                    leading,
                    neg_at >= 0 and tokens[neg_at].text in _PRE_NEGATORS,
                )
            if entry.imperative and not (
                state.s_not_imperative_from <= index <= state.s_not_imperative
            ):
                # "принесите", "закажите", "не убирайте": addressed to the hotel
                state.s_imperative = state.s_ordered = True
                if index <= neg_until:
                    neg_used = True  # a request not to do something, not a complaint
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
                neg_at = index
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
                state.contrasts.append(index)
                state.total *= BEFORE_CONTRAST
                state.weight = AFTER_CONTRAST
                continue
            if entry.intensity:
                follows = self._valence_follows(tokens, index)
                if text in _EXCESS and not follows:
                    # "too big", "слишком далеко": excess is a complaint even for neutral words
                    if index + 1 < count and tokens[index + 1].kind == WORD:
                        state.total += EXCESS_VALENCE * state.weight
                    continue
                if entry.valence is None or follows:
                    # "ужасно шумно": an intensifier; "ужасно!" on its own: a sentiment word
                    boost = entry.intensity
                    boost_at = index
                    continue
            valence = entry.valence
            if valence is None:
                continue
            state.known += 1
            if index - boost_at <= 2:
                valence *= 1.0 + boost * (1.0 if index - boost_at == 1 else 0.5)
            if caps:
                if shouting is None:
                    shouting = all(t.caps or len(t.text) < 2 for t in tokens if t.kind == WORD)
                if not shouting:
                    valence *= 1.0 + CAPS_BOOST
            if index <= neg_until and kind == WORD:
                valence *= NEGATED_POSITIVE_FACTOR if valence > 0 else NEGATED_NEGATIVE_FACTOR
                neg_used = True
            state.total += valence * state.weight
            if valence > 0:
                state.sentence_positive += valence * state.weight
            else:
                state.negative_seen = True
        if not neg_used:
            state.total += neg_bare * state.weight
            state.clause_faults.append("")
        state.close_sentence()
        return state

    def _valence_follows(self, tokens: list[Token], index: int) -> bool:
        following = index + 1
        if following >= len(tokens) or tokens[following].kind != WORD:
            return False
        return self._lexicon.entry(tokens[following].text).valence is not None

    @staticmethod
    def _phrases(
        lexicon: Lexicon,
        entry: TokenEntry,
        tokens: list[Token],
        index: int,
        state: Reading,
        negated: bool,
        denied: bool,
        leading: bool,
        pre_negated: bool,
    ) -> int:
        """Apply the phrases that start at `index`; return the last token they consume
        (or -1 when none consumes tokens: objects, markers and topics only annotate)."""
        consumed = -1
        seen: set[str] = set()
        following = tokens[index + 1].text if index + 1 < len(tokens) else ""
        for phrase in lexicon.candidates(entry, tokens[index].text, following):
            kind = phrase.kind
            if kind in seen:
                continue  # the longest phrase of each kind wins ("do we need" over "need")
            if phrase.length > 1:
                end = _match_end(phrase, tokens, index)
                if end < 0:
                    continue
            else:
                end = index
            seen.add(kind)
            if kind == PhraseKind.SENTIMENT:
                value = phrase.value
                if negated:
                    value *= NEGATED_POSITIVE_FACTOR if value > 0 else NEGATED_NEGATIVE_FACTOR
                state.total += value * state.weight
                state.known += 1
                consumed = max(consumed, end)
            elif kind == PhraseKind.PROBLEM:
                if (denied and (phrase.length == 1 or pre_negated)) or (
                    phrase.length == 1 and _post_negated(tokens, end)
                ):
                    # "not dirty", "не грязно", "never run out of": the problem is denied
                    state.total += 0.3 * state.weight
                    _cue(Cue.DENIAL, state, index, end, leading)
                else:
                    state.add_complaint(phrase.label, index, phrase.length == 1)
                    state.total += PROBLEM_VALENCE * state.weight
                    state.negative_seen = True
                consumed = max(consumed, end)
            elif kind == PhraseKind.URGENT:
                if not phrase.label:
                    state.urgent.append("")  # "fire exit": named, not happening
                    consumed = max(consumed, end)
                elif not (denied and phrase.length == 1):
                    state.urgent.append(phrase.label)
                    state.urgent_at = index
                    if phrase.label not in BARE_HELP:
                        # a bare "help" keeps its own valence: "thanks for the help"
                        state.negative_seen = True
                        state.total += URGENT_VALENCE * state.weight
                        consumed = max(consumed, end)
            elif kind == PhraseKind.FAULT:
                if not (denied and phrase.length == 1):
                    state.clause_faults.append(phrase.label)
                    state.last_problem_at = index
                if phrase.length > 1:
                    # a single word ("slow", "cold") keeps its own valence as well
                    consumed = max(consumed, end)
            elif kind == PhraseKind.OBJECT:
                state.clause_objects.append(phrase.label)
            elif kind == PhraseKind.REQUEST:
                # consumed: the "не" of "не могли бы" is politeness, not negation
                state.s_staff = True
                consumed = max(consumed, end)
            elif kind == PhraseKind.TOPIC:
                state.add_action(phrase.label, index)
            elif kind == PhraseKind.SARCASM:
                state.sarcasm = True
                consumed = max(consumed, end)
            elif kind == PhraseKind.CUE:
                if end <= state.cue_until:
                    continue  # inside a longer cue: "do we need" asks, its "need" is no need
                if end > index:
                    state.cue_until = end
                cues = phrase.label.split("|")
                if Cue.CLOCK in cues and not (index and tokens[index - 1].kind == NUMBER):
                    continue  # "8 am" is a time; "I am" is not
                if not _FILLER_CUES.isdisjoint(cues) and index > state.filler_until:
                    state.filler += end - index + 1  # greetings, thanks, pings: no content
                    state.s_filler += end - index + 1
                    state.filler_until = end
                for cue in cues:
                    if cue == Cue.QUESTION and not leading and phrase.elements[0] in _WH_WORDS:
                        continue  # "which", "when" inside a statement ask nothing
                    _cue(cue, state, index, end, leading)
        return consumed


# A question that ends on "is there" asks whether something exists: "Парковка есть?"
_EXISTS: Final = frozenset({"есть", "имеется", "имеются"})


def _post_negated(tokens: list[Token], end: int) -> bool:
    """Whether the words after a problem word deny it: Russian puts the negation after the
    thing it denies ("шума не было", "тараканов нет")."""
    following = tuple(t.text for t in tokens[end + 1 : end + 3] if t.kind == WORD)
    return bool(following) and (following[:1] in _POST_NEGATIONS or following in _POST_NEGATIONS)


def _cue(cue: str, state: Reading, index: int, end: int, leading: bool) -> None:
    """Note a cue of the current sentence (see `labels.Cue`)."""
    if cue == Cue.OPENER:
        state.lead = leading  # "hi, please bring ...": "bring" still starts the sentence
        state.opener_until = end
        return
    if cue == Cue.IMPERATIVE:
        if leading:
            state.s_imperative = True  # "Bring two towels", "Don't clean the room today"
        return
    elif cue == Cue.NOT_IMPERATIVE:
        # "не волнуйтесь": its last word orders nothing; "помогите найти": its first
        state.s_not_imperative_from, state.s_not_imperative = index, end
        return
    elif cue == Cue.STAFF:
        state.s_staff = True
    elif cue == Cue.ASK:
        state.s_ask = True
        state.s_ask_at = index
    elif cue == Cue.NEED:
        state.s_need = True
    elif cue == Cue.INFO:
        state.add_info(index)
        return
    elif cue == Cue.TELL:
        state.add_tell(index)
        return
    elif cue == Cue.SELF:
        if state.s_self_at < 0:
            state.s_self_at = index
    elif cue == Cue.DENIAL:
        state.denials.append((state.s_index, index))
    elif cue == Cue.RESOLVED:
        state.resolved_at = end  # "working again": its own "again" is no relapse
    elif cue == Cue.CLOCK:
        state.clock_times += 1  # "at 8 am", "в 10 утра"
    elif cue == Cue.AGAIN:
        state.again_at = index
    state.s_cues.add(cue)
