"""The rules' requests-and-actions layer: who needs someone at the hotel, and why.

One test per rule family, in English and Russian. The sentences are written for these tests
(not taken from the labelled set in tests/data/guest_messages/, which measures the rules).
"""

from __future__ import annotations

import pytest

from hotelbot.domain.categories import AttentionCategory, EmergencyKind
from hotelbot.domain.rules import RuleAnalyser
from hotelbot.domain.sentiment import Sentiment, Verdict

A = AttentionCategory


@pytest.fixture(scope="module")
def analyser() -> RuleAnalyser:
    return RuleAnalyser()


def _needs(verdict: Verdict, category: AttentionCategory) -> None:
    assert verdict.requires_attention, verdict
    assert verdict.category is category, verdict
    assert verdict.categories, "a concrete finding names its detail"


def _nobody(verdict: Verdict) -> None:
    assert not verdict.requires_attention, verdict
    assert verdict.category is None, verdict


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # English: modal, indirect, abbreviated, stated needs, requests not to do something
        ("Could someone bring up two extra blankets to 512?", A.HOUSEKEEPING_ITEM),
        ("I was wondering if you could arrange a cab for 6am tomorrow", A.TRANSPORT),
        ("would u be able to book us a table at the rooftop for 8", A.BOOKING),
        ("iron + board to 221 pls", A.HOUSEKEEPING_ITEM),
        ("We'd like a copy of the invoice made out to our company", A.BILLING_DOCUMENT),
        ("Is it possible to keep the room until 3pm on Sunday?", A.STAY_CHANGE),
        ("Please don't make up our room today, we're sleeping in", A.HOUSEKEEPING_ITEM),
        ("Print my boarding pass please, I'll pick it up at the desk", A.BILLING_DOCUMENT),
        ("My wife is coeliac, can the kitchen do a gluten free breakfast?", A.SPECIAL_NEED),
        ("Can we leave our suitcases with you after checkout?", A.STAY_CHANGE),
        ("We need a baby cot in the room before we arrive", A.SPECIAL_NEED),
        # Russian: polite imperatives, "можно", stated needs, "не" + imperative
        ("Закажите нам, пожалуйста, такси до вокзала на 7:30", A.TRANSPORT),
        ("Распечатайте счёт на организацию, реквизиты пришлю", A.BILLING_DOCUMENT),
        ("Принесите ещё одно одеяло в 418", A.HOUSEKEEPING_ITEM),
        ("Продлите нам номер на две ночи", A.STAY_CHANGE),
        ("Можно поздний выезд в воскресенье?", A.STAY_CHANGE),
        ("Нужен столик на четверых в ресторане на 20:00", A.BOOKING),
        ("Не убирайтесь у нас сегодня, пожалуйста", A.HOUSEKEEPING_ITEM),
        ("Переселите нас в номер потише", A.STAY_CHANGE),
        ("Ребёнку нужно безлактозное молоко на завтрак", A.SPECIAL_NEED),
        ("Оставьте наш багаж до вечера, уезжаем в 21:00", A.STAY_CHANGE),
    ],
)
def test_requests_need_staff_with_their_category(
    analyser: RuleAnalyser, text: str, category: AttentionCategory
) -> None:
    verdict = analyser.analyse(text)
    _needs(verdict, category)
    assert verdict.reason.startswith("request")
    assert verdict.sentiment is not Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    ["Перезвоните мне в номер 305", "Свяжитесь со мной, пожалуйста", "Call me back please"],
)
def test_an_order_without_a_known_object_still_needs_staff(
    analyser: RuleAnalyser, text: str
) -> None:
    verdict = analyser.analyse(text)
    assert verdict.requires_attention, verdict
    assert verdict.categories


@pytest.mark.parametrize(
    "text",
    [
        "Waiting 40 minutes for the room service I ordered",
        "Still nothing about the cot I asked for this morning",
        "hello??",
        "???",
        "anyone there?",
        "Reminder: the airport pickup for room 18 tomorrow",
        "I ordered breakfast for 7:30, it's 8:20 now",
        "Уже полтора часа ждём мастера",
        "Напоминаю про трансфер на завтра",
        "ау?",
        "Заказывали ужин в 19:00, сейчас 20:10",
    ],
)
def test_waiting_and_follow_ups(analyser: RuleAnalyser, text: str) -> None:
    _needs(analyser.analyse(text), A.FOLLOW_UP)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("polotence ne prinesli", A.FOLLOW_UP),
        ("prinesite pozhaluysta vtoruyu podushku", A.HOUSEKEEPING_ITEM),
        ("mozhno zakazat taksi v aeroport?", A.TRANSPORT),
        ("kondicioner ne rabotaet", A.COMPLAINT),
        ("v nomere ochen grjazno", A.COMPLAINT),
        ("wifi ne rabotaet uzhe den", A.COMPLAINT),
        ("можно late checkout?", A.STAY_CHANGE),
        ("кондиционер broken, please help", A.COMPLAINT),
        ("нoмер грязный", A.COMPLAINT),  # a Latin "o" inside a Russian word
    ],
)
def test_transliterated_and_mixed_russian(
    analyser: RuleAnalyser, text: str, category: AttentionCategory
) -> None:
    verdict = analyser.analyse(text)
    _needs(verdict, category)
    assert verdict.language == "ru"


@pytest.mark.parametrize(
    "text",
    [
        "Lovely, the shower is cold again",
        "Is it normal that nobody cleans the rooms here?",
        "How hard is it to bring a towel?",
        "Это нормально, что в номере нет горячей воды?",
        "Сколько можно ждать уборку?",
    ],
)
def test_sarcasm_and_rhetorical_questions(analyser: RuleAnalyser, text: str) -> None:
    verdict = analyser.analyse(text)
    assert verdict.requires_attention, verdict
    assert verdict.sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("We agreed 90 EUR a night and the bill says 110", A.BILLING),
        ("The minibar charge is for two beers we never opened", A.BILLING),
        ("You took 400 and then 400 again from my card", A.BILLING),
        ("Договаривались на 4000 за ночь, а списали 5200 рублей", A.BILLING),
        ("Депозит так и не вернули", A.BILLING),
        ("The night porter shouted at my daughter", A.STAFF_CONDUCT),
        ("Housekeeping came in without knocking while I was changing", A.STAFF_CONDUCT),
        ("Администратор сообщила посторонним номер нашей комнаты", A.STAFF_CONDUCT),
        ("Горничная зашла в номер без стука", A.STAFF_CONDUCT),
        ("There are exposed wires behind the bedside table", A.SAFETY),
        ("The balcony railing is loose", A.SAFETY),
        ("В ванной из стены торчат оголённые провода", A.SAFETY),
        ("На лестнице очень скользко", A.SAFETY),
    ],
)
def test_plain_facts_about_money_conduct_and_hazards(
    analyser: RuleAnalyser, text: str, category: AttentionCategory
) -> None:
    _needs(analyser.analyse(text), category)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("There's smoke coming out of the air vent!", EmergencyKind.FIRE),
        ("I can smell gas in the corridor", EmergencyKind.GAS),
        ("Water is pouring through the bathroom ceiling", EmergencyKind.FLOOD),
        ("My laptop was stolen from the room", EmergencyKind.THEFT),
        ("Someone is trying to open our door at night", EmergencyKind.INTRUDER),
        ("A man grabbed me in the lift", EmergencyKind.ASSAULT),
        ("My husband collapsed, call an ambulance", EmergencyKind.MEDICAL),
        ("help", EmergencyKind.HELP),
        ("Пожар на третьем этаже", EmergencyKind.FIRE),
        ("В номере пахнет газом", EmergencyKind.GAS),
        ("Нас затопило, вода с потолка", EmergencyKind.FLOOD),
        ("Из сейфа украли деньги", EmergencyKind.THEFT),
        ("Ребёнку плохо, вызовите скорую", EmergencyKind.MEDICAL),
        ("Помогите!", EmergencyKind.HELP),
        # inflections and other wordings: a rule per kind, not per sentence
        ("smoke is coming from under the door", EmergencyKind.FIRE),
        ("the room smells of gas", EmergencyKind.GAS),
        ("there is a water leak in the bathroom", EmergencyKind.FLOOD),
        ("our son is missing, we cannot find him", EmergencyKind.HELP),
        ("we are trapped in the lift", EmergencyKind.HELP),
        ("the night porter keeps harassing me", EmergencyKind.ASSAULT),
        ("HELP!!!", EmergencyKind.HELP),
        ("помогите пожалуйста", EmergencyKind.HELP),
        ("горит проводка в коридоре", EmergencyKind.FIRE),
        ("в коридоре пахнет газом", EmergencyKind.GAS),
        ("прорвало трубу, течет вода", EmergencyKind.FLOOD),
        ("кто-то пытается открыть нашу дверь", EmergencyKind.INTRUDER),
        ("у меня украли кошелек", EmergencyKind.THEFT),
        ("ко мне пристает охранник", EmergencyKind.ASSAULT),
        ("пропал ребенок, не можем найти", EmergencyKind.HELP),
    ],
)
def test_emergencies(analyser: RuleAnalyser, text: str, kind: EmergencyKind) -> None:
    verdict = analyser.analyse(text)
    assert verdict.is_emergency, verdict
    assert verdict.category is A.EMERGENCY
    assert verdict.categories[0] == kind.value


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for your help yesterday!",
        "Where is the fire exit on our floor?",
        "Can you help me book a taxi?",
        "Помогите заказать такси до аэропорта",
        "help me book a taxi",
        "Could you help us with a late checkout?",
        "can you help me find a pharmacy",
        "help me find a pharmacy please",
        "Помогите найти аптеку",
        "Помогите, пожалуйста, добраться до вокзала",
        "Is there a fire alarm test today?",
        "the fire alarm test this morning was loud",
        "The smoke detector keeps beeping, battery maybe?",
        "The fireplace in the lounge is lovely",
        "Где пожарный выход?",
        "Будет ли сегодня проверка пожарной сигнализации?",
        "Не могли бы вы помочь с трансфером?",
        "the shower leaks a bit",
    ],
)
def test_no_emergency_where_help_means_a_request(analyser: RuleAnalyser, text: str) -> None:
    assert not analyser.analyse(text).is_emergency


@pytest.mark.parametrize(
    "text",
    [
        # questions for a fact, even when they use request words
        "What time does the pool close?",
        "How far is the old town on foot?",
        "Can I bring my cat?",
        "Is it possible to walk to the beach from here?",
        "Is there a gym in the hotel?",
        "Во сколько начинается завтрак?",
        "Можно ли приехать с собакой?",
        "Подскажите, где ближайшая аптека?",
        # problems reported as fixed
        "The TV works again, thanks for the quick fix!",
        "Кондиционер починили, всё отлично, спасибо!",
        # denials
        "No complaints at all, just checking what time checkout is",
        "Никаких проблем, всё работает, просто уточняю",
        # outside the hotel
        "Terrible weather, it's been raining all day",
        "Our flight got delayed by five hours, what a day",
        "Дождь третий день, погода ужасная",
        # smalltalk and goodbyes
        "Last night here 😢 we'll miss you all",
        "Уезжаем сегодня, грустно 😭",
        "Good morning!",
        "Спасибо, всё отлично!",
        # alternatives and questions about a fact, whatever they name
        "Is breakfast included or extra?",
        "Завтрак входит в стоимость или оплачивается отдельно?",
        "Экскурсии лучше брать через отель или лучше в городе?",
        "До скольки работает спа?",
        # a problem word denied after it, Russian style
        "Шума не было совсем, спали отлично",
        # a problem word asked about
        "Is smoking allowed on the balcony?",
        # help to find the way is a question for directions (labelled so in the eval data)
        "help me find a pharmacy please",
        "Помогите найти аптеку",
        # a service's terms asked about
        "Is parking free for guests?",
        "Is the pool heated?",
        "Парковка платная?",
        "Бассейн сейчас открыт?",
        "Парковка есть?",
        "В отеле есть спа?",
        "Что на завтрак?",
        # an arrival time told, nothing asked: information
        "Hi! We will arrive around 6 pm today.",
        "we'll be there around 8, see you then",
        "Good morning! We land at 7am. Thanks!",
        "Здравствуйте! Мы приедем около 18:00 сегодня.",
        "Прилетаем вечером, будем ближе к десяти",
    ],
)
def test_false_alarms_need_nobody(analyser: RuleAnalyser, text: str) -> None:
    _nobody(analyser.analyse(text))


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # "tell me" first asks for a fact; a request after it still counts
        ("Подскажите, можно заказать трансфер в аэропорт на завтра?", A.TRANSPORT),
        ("We'd love a private transfer on Monday, whatever car you recommend", A.TRANSPORT),
        # a near miss is no denial
        ("Пол мокрый, пожилая женщина чуть не поскользнулась", A.SAFETY),
        ("my toddler almost grabbed the hot radiator", A.SAFETY),
        # an ordered time against the time now, without the word "now"
        ("Taxi was booked for 6:00, it's 6:20 and no car", A.FOLLOW_UP),
        # soft signs left out in transliteration
        ("skolko eshe zhdat polotenca?", A.FOLLOW_UP),
    ],
)
def test_requests_and_problems_behind_questions_and_near_misses(
    analyser: RuleAnalyser, text: str, category: AttentionCategory
) -> None:
    _needs(analyser.analyse(text), category)


def test_displeasure_outside_the_hotel_is_still_negative(analyser: RuleAnalyser) -> None:
    verdict = analyser.analyse("Terrible weather, it's been raining all day")
    assert verdict.sentiment is Sentiment.NEGATIVE
    assert not verdict.requires_attention


@pytest.mark.parametrize(
    "text",
    [
        "Help me find my son, he is missing",
        "Помогите найти ребёнка, он потерялся",
        "help me find my daughter",
        "помогите найти сына",
        "Помогите!",
        "Arriving around 2am, please keep the room for us",
        "We arrive at 10pm, can someone meet us at the station?",
        "Приедем около полуночи, не снимайте бронь",
        "Any chance of an early check-in? We land at 6am",
    ],
)
def test_help_to_find_someone_and_an_arrival_with_a_request_still_need_staff(
    analyser: RuleAnalyser, text: str
) -> None:
    assert analyser.analyse(text).requires_attention


def test_a_problem_back_after_a_fix_needs_staff(analyser: RuleAnalyser) -> None:
    verdict = analyser.analyse("They fixed the AC yesterday but it stopped working again")
    _needs(verdict, A.COMPLAINT)


def test_a_denial_does_not_cover_a_problem_after_but(analyser: RuleAnalyser) -> None:
    verdict = analyser.analyse("The room is fine, but the shower is broken")
    _needs(verdict, A.COMPLAINT)


def test_a_negative_tone_alone_is_attention_without_a_concrete_finding(
    analyser: RuleAnalyser,
) -> None:
    verdict = analyser.analyse("I am not happy with this stay at all")
    assert verdict.requires_attention
    assert verdict.category is A.OTHER
    assert verdict.categories == ()  # not concrete: an LLM may overrule a tone


def test_concrete_findings_outrank_requests(analyser: RuleAnalyser) -> None:
    verdict = analyser.analyse("The kettle is broken, could you also bring two towels?")
    assert verdict.category is A.COMPLAINT
    assert "towels" in verdict.categories
