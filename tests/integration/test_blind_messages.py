"""The second single-message set (tests/data/blind_messages.yml): written blind by someone who never saw the training
data or the risk phrases, never trained on. Teenagers' words, threats through others, children alone, worry,
hyperbole, negation, the past, professionals, and figurative English. Measured three ways: everything (rules, the
learned layer and the NLU model), with the NLU service down, and the rules alone. The figures are printed; the bars
are what the bot held when it was last measured, so that a change that makes understanding worse fails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.understanding.nlu_client import NluClient
from safety.learned import LearnedRisk
from tests.conftest import load_cases
from tests.integration.blind_figures import read_three_ways

pytestmark = pytest.mark.integration

SETS = {
    "tests/data/blind_messages.yml": load_cases("tests/data/blind_messages.yml"),
    # Written later by another helper, also blind; not looked at while the understanding was built on the first set.
    "tests/data/blind_messages_3.yml": load_cases("tests/data/blind_messages_3.yml"),
    # A fourth, written blind in the round after (first measured before anything was changed for it: see the README).
    "tests/data/blind_messages_4.yml": load_cases("tests/data/blind_messages_4.yml"),
    # A fifth (120), written blind in the round after that; first measured before anything was changed for it.
    "tests/data/blind_messages_5.yml": load_cases("tests/data/blind_messages_5.yml"),
    # A sixth (200), written blind at the same time by another helper; first measured after that round's changes.
    "tests/data/blind_messages_6.yml": load_cases("tests/data/blind_messages_6.yml"),
    # A seventh (160), written blind in the round after; first measured after that round's changes.
    "tests/data/blind_messages_7.yml": load_cases("tests/data/blind_messages_7.yml"),
    # An eighth (160) and a ninth (130), written blind by two helpers in the round after; first measured before
    # anything was changed for them.
    "tests/data/blind_messages_8.yml": load_cases("tests/data/blind_messages_8.yml"),
    "tests/data/blind_messages_8b.yml": load_cases("tests/data/blind_messages_8b.yml"),
    # A tenth (150), written blind in the round after (other voices: a 12-year-old, a girl whose mother is inside, a
    # grandfather, a stepfather, a sports coach, a JGZ nurse, a visit centre); first measured before any change.
    "tests/data/blind_messages_9.yml": load_cases("tests/data/blind_messages_9.yml"),
    # An eleventh (150), written blind in round 14 (an 11-year-old, a stepmother, a foster father, an uncle, a
    # neighbour, a childcare leader, a school nurse, a football trainer, a Polish-Dutch mother, a deaf teenager); first
    # measured before any change: acute 0.96, false alarms 0.0 % (+2.4 % quiet), concern 0.57, topic en 0.77 nl 0.76.
    "tests/data/blind_messages_10.yml": load_cases("tests/data/blind_messages_10.yml"),
    # A twelfth (150), written blind in round 15 (a twin, a student of 19, a school concierge, a dentist's assistant, a
    # mosque volunteer, a divorced father, a mother imprisoned abroad); first measured before any change for it:
    # acute 0.71 (full alarm 0.57; NLU down 0.63; rules alone 0.51), false alarms 0.9 %, concern 0.74, topic en 0.84 /
    # nl 0.82. Its ten missed dangers (a carer shaking a crying baby, a man in a child's bed, a drunk father driving off
    # with his toddler, "ngl been cutting again", the offence silencing "better off if i wasnt here", ...) got frames.
    "tests/data/blind_messages_11.yml": load_cases("tests/data/blind_messages_11.yml"),
    # A thirteenth and a fourteenth (150 each), written blind in round 16 by two helpers, one after the other (a
    # stepfather, a pharmacist, a childcare worker, a Polish mother, a brother of 21 as guardian; then a bus driver, a
    # bailiff, a school receptionist, a deacon, an Eritrean mother, a trans teen). First measured before anything was
    # changed for them: acute 0.83 (0.71 at once; NLU down 0.80; rules alone 0.57), concern 0.57, topic en 0.80 /
    # nl 0.80; and acute 0.86 (0.57; 0.77; 0.54), concern 0.71, topic en 0.67 / nl 0.72. Their missed dangers (a
    # farewell sent and then silence, cuts seen on a child's arm, a threat to withdraw a statement, a child alone for
    # days or not collected, a bus steered into the canal, a "game" that must not be told, ...) got general frames.
    "tests/data/blind_messages_12.yml": load_cases("tests/data/blind_messages_12.yml"),
    "tests/data/blind_messages_13.yml": load_cases("tests/data/blind_messages_13.yml"),
    # A fifteenth (150), written blind in round 17 (a Cape Verdean grandfather, a deaf mother, a Syrian aunt, a gay
    # father, a 16-year-old apprentice, a lowercase 13-year-old, a swimming teacher, a speech therapist, a midwife).
    # First measured before anything was changed for it: acute 0.89 (0.66 at once; NLU down 0.86; rules alone 0.54),
    # false alarms 2.6 % (+0.9 % quiet), concern 0.69, topic en 0.67 / nl 0.70.
    "tests/data/blind_messages_14.yml": load_cases("tests/data/blind_messages_14.yml"),
    # A sixteenth (150), written blind in round 18 (a Turkish-Dutch mother, a Ukrainian partner, a Moluccan grandmother,
    # a lorry driver, an ICU nurse, an Urk fisherman, a HALT officer, a prison chaplain, an interpreter). First measured
    # before anything was changed for it: acute 0.89 (0.29 at once; NLU down 0.91; rules alone 0.31), false alarms
    # 4.3 % (+0.0 % quiet), concern 0.71, topic en 0.75 / nl 0.64.
    "tests/data/blind_messages_15.yml": load_cases("tests/data/blind_messages_15.yml"),
    # A seventeenth (150), written blind in round 19 (a dairy farmer, a ferry deckhand, a chip-shop owner, a tram
    # driver, an optician, a driving instructor, a nail-salon owner, a 9-year-old locked in his room). First measured
    # before anything was changed for it: acute 0.71 (0.29 at once; NLU down 0.69; rules alone 0.23), false alarms
    # 0.9 % (+1.7 % quiet), concern 0.71, topic en 0.73 / nl 0.59. Its misses suggested themes for new training lines
    # of the learned layer (safety/learned_examples_indirect.yml), so its later figures are not blind.
    "tests/data/blind_messages_16.yml": load_cases("tests/data/blind_messages_16.yml"),
    # An eighteenth (150), written blind in round 20 (a tower-crane driver, a quarry fence, a boy with his father's car
    # keys, a mother who bites her arm, a daughter locked in the stair cupboard, a gun arranged by a cousin). First
    # measured before anything was changed for it: acute 0.80 (0.31 at once; NLU down 0.80; rules alone 0.20), false
    # alarms 3.5 % (+5.2 % quiet), concern 0.69, topic en 0.68 / nl 0.73.
    "tests/data/blind_messages_17.yml": load_cases("tests/data/blind_messages_17.yml"),
    # A nineteenth (150), written blind in round 21 (a grandfather on the mudflats at rising tide, a driving
    # instructor's pupil and a viaduct pillar, a teenager asking about her mother's lithium, a stapler pressed into
    # a palm, a son-in-law driving the grandchildren to Schiphol, a futsal player picked up as a courier). First
    # measured before anything was changed for it: acute 0.80 (0.31 at once; NLU down 0.80; rules alone 0.11), false
    # alarms 2.6 % (+1.7 % quiet), concern 0.60, topic en 0.72 / nl 0.71.
    "tests/data/blind_messages_18.yml": load_cases("tests/data/blind_messages_18.yml"),
    # A twentieth (150), written blind in round 22 (a helium tank, the Afsluitdijk night bus, a pigeon fancier's gun
    # cabinet, a vet's vials; reported by a handball teammate, a water-meter reader, an orthodontist's assistant, a
    # midwife). First measured before anything was changed for it: acute 0.94 (0.31 at once; NLU down 0.94; rules
    # alone 0.23), false alarms 0.9 % (+3.5 % quiet), concern 0.69, topic en 0.84 / nl 0.71.
    "tests/data/blind_messages_19.yml": load_cases("tests/data/blind_messages_19.yml"),
    # A twenty-first (150), written blind in round 23 (a gas stove with the windows shut, a teacher's 2 a.m. email
    # and voicemail, 40 old pills found in a garage, a knuckle-duster in a school bag, baseball bats on the way to
    # Spijkenisse, a probation officer's car watched). First measured before anything was changed for it: acute
    # 0.83 (0.34 at once; NLU down 0.83; rules alone 0.14), false alarms 0.9 % (+0.9 % quiet), concern 0.54, topic
    # en 0.76 / nl 0.75. After the rule frames its misses guided (no longer blind for danger): acute 1.00, false
    # alarms 0.0 % (+0.9 % quiet).
    "tests/data/blind_messages_20.yml": load_cases("tests/data/blind_messages_20.yml"),
    # A twenty-second (150), written blind in round 24 (a manure cellar without a mask, a mill's stage, thin ice on the
    # plas, a soldering iron, a phone-screen shard; a hotel receptionist, a parking warden at a hot car, a party
    # entertainer, a newspaper deliverer). First measured before anything was changed for it: acute 0.83 (0.40 at
    # once; NLU down 0.83; rules alone 0.29), false alarms 1.7 % (+2.6 % quiet), concern 0.63, topic en 0.84 / nl 0.79.
    "tests/data/blind_messages_21.yml": load_cases("tests/data/blind_messages_21.yml"),
    # A twenty-third (150), written blind in round 25 (a butcher's captive-bolt gun cleaned and oiled, a self-portrait
    # titled "Friday I'm with grandpa", a pocket knife behind a bedroom door, glass breaking below a student's room, a
    # man who follows a mother and her daughter to the car park, a 12-year-old alone with a feverish toddler). First
    # measured before anything was changed for it: acute 0.83 (0.49 at once; NLU down 0.83; rules alone 0.26), false
    # alarms 0.9 % (+0.9 % quiet), concern 0.74, topic en 0.70 / nl 0.84.
    "tests/data/blind_messages_22.yml": load_cases("tests/data/blind_messages_22.yml"),
    # A twenty-fourth (150), written blind in round 26 (a model-building knife in the school toilets, a fish hook in a
    # rowing club's boathouse, a make-up artist asked for a look "for her own funeral", the last goods train at a level
    # crossing, a 12-year-old with a hot, limp toddler, a drunk grandad due at the school gate at 3). First measured
    # before anything was changed for it: acute 0.80 (0.37 at once; NLU down 0.77; rules alone 0.29), false alarms
    # 0.9 % (+0.9 % quiet), concern 0.51, topic en 0.78 / nl 0.81.
    "tests/data/blind_messages_23.yml": load_cases("tests/data/blind_messages_23.yml"),
    # A twenty-fifth (150), written blind in round 27 (a girl who wrote she will "voorgoed gaan slapen" and gave her
    # drawing things away, a boy banging his head on his bedroom wall, a sharp piece of a CD in a pencil case, a
    # daughter high on the sofa with a baby crying for hours). First measured before anything was changed for it:
    # acute 0.89 (0.51 at once; NLU down 0.89; rules alone 0.37), false alarms 0.9 % (+0.9 % quiet), concern 0.71,
    # topic en 0.80 / nl 0.86.
    "tests/data/blind_messages_24.yml": load_cases("tests/data/blind_messages_24.yml"),
}


@pytest.fixture(scope="module")
def learned() -> LearnedRisk:
    return LearnedRisk.load()


@pytest.fixture
async def nlu(rasa_url: str) -> AsyncIterator[NluClient]:
    client = NluClient(rasa_url, 10.0)
    yield client
    await client.aclose()


@pytest.mark.parametrize("path", list(SETS))
async def test_the_blind_single_messages(
    path: str, nlu: NluClient, learned: LearnedRisk, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = SETS[path]
    readings = await read_three_ways(cases, nlu, learned)
    full, down, rules = readings.full, readings.nlu_down, readings.rules
    with capsys.disabled():
        print(f"\nBlind single messages ({len(cases)}, {path}):")
        print(full.line("all (rules+learned+NLU)"))
        print(down.line("NLU down (rules+learned)"))
        print(rules.line("NLU down, rules alone"))
        for miss in full.misses:
            print(f"  {miss}")
    bars = BARS[path]
    assert full.acute_caught >= bars["acute_caught"]
    assert down.acute_caught >= bars["acute_caught_nlu_down"]
    assert full.false_alarms <= bars["false_alarms"]
    assert full.concern >= bars["concern"]
    assert min(full.topic.values()) >= bars["topic"]


# What the bot held when these were last measured (the targets on the independent sets are higher: acute 1.00 with
# the NLU service, 0.90 without; false alarms <= 3 %; concern >= 0.85; topic >= 0.92).
# Measured 2026-12-04: acute caught 0.84 (0.81 with the NLU down, 0.50 for the rules alone), false alarms 2.9 %,
# concern 0.78, topic en 0.66 / nl 0.86.
# Measured again after the third-person rules, the learned layer on most NLU lines and the stricter NLU veto: acute
# caught 0.93 (0.88 with the NLU down, 0.59 for the rules alone), false alarms 2.9 % (+2.9 % quiet), concern 0.74.
# And after the second round (repeats, holding on, threats through others; real users' typing in the training data):
# acute caught 0.95 (0.89 with the NLU down, 0.61 for the rules alone), false alarms 1.1 % (+2.9 % quiet), concern
# 0.74, topic en 0.82 / nl 0.90, figurative English 0 %. The bars leave room for a retrained model's variance.
# Third round (the embedding reading of the intents blended with the Rasa model; the readings' agreement; more
# training lines in real users' words): see the README's figures.
BARS = {
    "tests/data/blind_messages.yml": {
        "acute_caught": 0.90,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.03,
        "concern": 0.72,
        "topic": 0.78,
    },
    "tests/data/blind_messages_3.yml": {
        "acute_caught": 0.88,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.03,
        "concern": 0.68,
        "topic": 0.84,
    },
    # Before anything was changed for it: acute caught 0.83 (0.71 full), concern 0.83, topic en 0.86 / nl 0.91.
    "tests/data/blind_messages_4.yml": {
        "acute_caught": 0.90,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.03,
        "concern": 0.75,
        "topic": 0.80,
    },
    # First measured before anything was changed for it: acute caught 0.94 (0.78 full; 0.92 with the NLU down),
    # false alarms 2.4 % (+2.4 % quiet), concern 0.61, topic en 0.76 / nl 0.81 (its writer's concern and topic labels
    # are stricter than the earlier sets': a child's bedwetting, "the shame eats me" are concern there).
    "tests/data/blind_messages_5.yml": {
        "acute_caught": 0.90,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.03,
        "concern": 0.55,
        "topic": 0.72,
    },
    # First measured after that round's changes, before anything was changed for it: acute caught 0.93 (0.73 full;
    # 0.90 with the NLU down; 0.57 rules alone), false alarms 1.4 % (+2.9 % quiet), concern 0.80, topic en 0.79 /
    # nl 0.77.
    "tests/data/blind_messages_6.yml": {
        "acute_caught": 0.90,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.03,
        "concern": 0.70,
        "topic": 0.70,
    },
    # First measured after that round's other changes, before anything was changed for it: acute caught 0.82 (0.76
    # full; 0.82 with the NLU down; 0.56 rules alone), false alarms 4.3 % (+2.6 % quiet), concern 0.79, topic en 0.64 /
    # nl 0.76. Its writer labels a friend's self-harm and passive death wishes as concern, and gives many questions
    # "feelings". The false-alarm bar leaves one message of room for a retrained model (3 of 115 = 2.6 %).
    "tests/data/blind_messages_7.yml": {
        "acute_caught": 0.88,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.04,
        "concern": 0.62,
        "topic": 0.60,
    },
    # Written blind in the round after, first measured before anything was changed for it: acute caught 0.89 (0.69
    # full; 0.87 with the NLU down; 0.44 rules alone), false alarms 0.0 % (+5.2 % quiet), concern 0.78, topic en 0.82 /
    # nl 0.71. Its misses are mostly professionals reporting a client or pupil in danger now, in long messages. After
    # the frames added for them (a belt, a secret, a reported plan, a knife and a threat): acute 1.00 (0.98 NLU down),
    # concern 0.81; the bars since then guard that, the first figures are the held-out ones.
    "tests/data/blind_messages_8.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.93,
        "false_alarms": 0.03,
        "concern": 0.75,
        "topic": 0.66,
    },
    # Written at the same time by another helper; first measured before anything was changed for it: acute caught
    # 0.83 (0.80 full; 0.83 with the NLU down; 0.57 rules alone), false alarms 2.0 %, concern 0.65, topic en 0.84 /
    # nl 0.84. After that round's frames: acute 1.00 (0.97 NLU down), concern 0.85.
    "tests/data/blind_messages_8b.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.93,
        "false_alarms": 0.03,
        "concern": 0.75,
        "topic": 0.78,
    },
    # First measured before anything was changed for it: acute caught 0.88 (0.68 full; 0.85 with the NLU down; 0.42
    # rules alone), false alarms 7.3 % (+5.5 % quiet), concern 0.83, topic en 0.71 / nl 0.55. Six of the eight
    # "false alarms" are messages its writer labelled concern that the bot answers with the lines on purpose
    # (self-harm going on, "nobody would notice if i wasnt here anymore", "ik wil slapen en nooit meer wakker
    # worden"); two are harmless (a film that "hit me hard", a daughter who'd "rather be dead" than visit again).
    # After the frames for its five misses (a child alone with both parents gone, a child left behind, a goodbye at
    # the station, a weapon shown for tonight; "niet thuis" is no negation): acute 1.00 (0.97 NLU down).
    "tests/data/blind_messages_9.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.93,
        "false_alarms": 0.09,
        "concern": 0.78,
        "topic": 0.50,
    },
    # The eleventh set missed at its first run one danger (a teacher told by a girl that her uncle touches her, and
    # she goes there again tonight) and read a little over half of its worries as worries.
    "tests/data/blind_messages_10.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.90,
        "false_alarms": 0.03,
        "concern": 0.55,
        "topic": 0.70,
    },
    "tests/data/blind_messages_11.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.03,
        "concern": 0.60,
        "topic": 0.72,
    },
    "tests/data/blind_messages_12.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.93,
        "false_alarms": 0.03,
        "concern": 0.60,
        "topic": 0.72,
    },
    # Its writer's topic labels differ most from the bot's readings (en 0.67 / nl 0.72 at the first run and now).
    "tests/data/blind_messages_13.yml": {
        "acute_caught": 0.95,
        "acute_caught_nlu_down": 0.93,
        "false_alarms": 0.03,
        "concern": 0.62,
        "topic": 0.62,
    },
    "tests/data/blind_messages_14.yml": {
        "acute_caught": 0.85,
        "acute_caught_nlu_down": 0.80,
        "false_alarms": 0.04,
        "concern": 0.60,
        "topic": 0.62,
    },
    # Its false alarms at the first run: a child bullied out of a game clan, a neighbour asking about children alone
    # on the gallery at night, old self-harm "coming up again", a past beating, a team's question about the meldcode.
    "tests/data/blind_messages_15.yml": {
        "acute_caught": 0.85,
        "acute_caught_nlu_down": 0.85,
        "false_alarms": 0.05,
        "concern": 0.62,
        "topic": 0.56,
    },
    # Now: acute 0.86 (NLU down 0.83), false alarms 0.9 % (+1.7 % quiet), concern 0.71, topic en 0.73 / nl 0.59.
    "tests/data/blind_messages_16.yml": {
        "acute_caught": 0.80,
        "acute_caught_nlu_down": 0.77,
        "false_alarms": 0.03,
        "concern": 0.62,
        "topic": 0.52,
    },
    "tests/data/blind_messages_17.yml": {
        "acute_caught": 0.74,
        "acute_caught_nlu_down": 0.74,
        "false_alarms": 0.06,
        "concern": 0.62,
        "topic": 0.58,
    },
    "tests/data/blind_messages_18.yml": {
        "acute_caught": 0.74,
        "acute_caught_nlu_down": 0.74,
        "false_alarms": 0.05,
        "concern": 0.52,
        "topic": 0.62,
    },
    "tests/data/blind_messages_19.yml": {
        "acute_caught": 0.88,
        "acute_caught_nlu_down": 0.88,
        "false_alarms": 0.04,
        "concern": 0.57,
        "topic": 0.70,
    },
    "tests/data/blind_messages_20.yml": {
        "acute_caught": 0.88,
        "acute_caught_nlu_down": 0.88,
        "false_alarms": 0.04,
        "concern": 0.48,
        "topic": 0.68,
    },
    "tests/data/blind_messages_21.yml": {
        "acute_caught": 0.80,
        "acute_caught_nlu_down": 0.80,
        "false_alarms": 0.04,
        "concern": 0.57,
        "topic": 0.74,
    },
    # Round 25, after the frames its misses guided (no longer blind for those four dangers): acute 0.94 (33/35; NLU
    # down 0.94), false alarms 0.9 % (+0.9 % quiet), concern 0.74, topic en 0.70 / nl 0.84.
    "tests/data/blind_messages_22.yml": {
        "acute_caught": 0.88,
        "acute_caught_nlu_down": 0.88,
        "false_alarms": 0.04,
        "concern": 0.68,
        "topic": 0.66,
    },
    # Round 26, its first run (above), less a retrained model's variance: two acute messages, two concerns.
    "tests/data/blind_messages_23.yml": {
        "acute_caught": 0.74,
        "acute_caught_nlu_down": 0.71,
        "false_alarms": 0.04,
        "concern": 0.45,
        "topic": 0.72,
    },
    # Round 27, its first run (above), less a retrained model's variance: two acute messages, two concerns.
    "tests/data/blind_messages_24.yml": {
        "acute_caught": 0.82,
        "acute_caught_nlu_down": 0.82,
        "false_alarms": 0.04,
        "concern": 0.65,
        "topic": 0.78,
    },
}
