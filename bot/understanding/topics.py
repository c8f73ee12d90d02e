"""The contract between the NLU model's intents and the rest of the bot: every intent belongs to one topic."""

from __future__ import annotations

TOPICS: tuple[str, ...] = (
    "visit",
    "contact",
    "explain_to_child",
    "stigma",
    "feelings",
    "peer_support",
    "practical",
    "for_professionals",
    "talk_to_human",
    "crisis",
    "privacy",
    "greeting",
    "goodbye",
    "out_of_scope",
)

INTENT_TOPIC: dict[str, str] = {
    "greet": "greeting",
    "goodbye": "goodbye",
    "thanks": "goodbye",
    # Small talk and meta: "ok" is not a goodbye; "I'm the grandma actually" asks for the role buttons.
    "acknowledge": "greeting",
    "change_role": "greeting",
    "visit": "visit",
    "visit_first": "visit",
    "visit_rules": "visit",
    "visit_bring": "visit",
    "visit_prepare_child": "visit",
    "visit_child_days": "visit",
    "contact": "contact",
    "contact_phone": "contact",
    "contact_letters": "contact",
    "contact_video": "contact",
    "contact_child_refuses": "contact",
    "contact_other_parent_blocks": "contact",
    # A family member worried how the person inside is doing: who checks on him, may we ask the prison.
    "contact_wellbeing": "contact",
    "explain_to_child": "explain_to_child",
    "explain_saw_arrest": "explain_to_child",
    "explain_my_fault": "explain_to_child",
    "explain_offence": "explain_to_child",
    "explain_books": "explain_to_child",
    "stigma": "stigma",
    "stigma_school": "stigma",
    "stigma_friends": "stigma",
    # What to say when people ask where he is; cover stories ("say he's working abroad"), and whether that is lying.
    "stigma_what_to_say": "stigma",
    "stigma_bullying": "stigma",
    "feelings": "feelings",
    "feelings_overwhelmed": "feelings",
    "feelings_anger": "feelings",
    "feelings_loyalty": "feelings",
    "feelings_guilt": "feelings",
    "feelings_child_behaviour": "feelings",
    "young_carer": "feelings",
    # "mn pa zit vast": an opening without a question yet; the answer asks what they want to know.
    "opening": "feelings",
    "peer_support": "peer_support",
    # Help for the parent or carer at home themselves (grandparents and foster parents too): who supports them.
    "support_for_carer": "peer_support",
    "practical": "practical",
    "practical_which_prison": "practical",
    "practical_remand": "practical",
    "practical_release": "practical",
    "practical_money": "practical",
    # Travel costs for visits are money matters: the municipality's bijzondere bijstand, like other help with money.
    "visit_costs": "practical",
    "practical_send_money": "practical",
    "practical_probation": "practical",
    "for_professionals": "for_professionals",
    "prof_bring_up": "for_professionals",
    "prof_prison_info": "for_professionals",
    "prof_child_rights": "for_professionals",
    "prof_refer": "for_professionals",
    "prof_meldcode": "for_professionals",
    "prof_client_distress": "for_professionals",
    "prof_suspicion": "for_professionals",
    "prof_case_consult": "for_professionals",
    "prof_legal_basis": "for_professionals",
    # What a child or parent told a professional: confidential, and when it may be shared (the meldrecht).
    "prof_confidentiality": "for_professionals",
    "prof_prison_consent": "for_professionals",
    "prof_refuses_help": "for_professionals",
    "talk_to_human": "talk_to_human",
    "crisis_suicidal": "crisis",
    "crisis_violence": "crisis",
    "privacy": "privacy",
    "out_of_scope": "out_of_scope",
}

CRISIS_INTENT_CATEGORY: dict[str, str] = {"crisis_suicidal": "suicidal", "crisis_violence": "violence"}
# Every intent the model knows needs an answer in responses/, except the crisis intents (answered from crisis.yml).
ANSWERED_INTENTS: tuple[str, ...] = tuple(intent for intent in INTENT_TOPIC if intent not in CRISIS_INTENT_CATEGORY)
CATEGORY_CRISIS_INTENT: dict[str, str] = {
    "suicidal": "crisis_suicidal",
    "self_harm": "crisis_suicidal",
    "violence": "crisis_violence",
    "child_unsafe": "crisis_violence",
}
# Intents that are a worry in themselves: the answer gets the offer of someone to talk to (a bullied child too).
CONCERN_INTENTS: dict[str, str] = {
    "feelings_overwhelmed": "not_coping",
    "young_carer": "young_carer",
    "stigma_bullying": "bullying",
}

# The topics a user can pick from the menu, and the intent whose answer a pick shows.
MENU_TOPICS: tuple[str, ...] = (
    "visit",
    "contact",
    "explain_to_child",
    "stigma",
    "feelings",
    "peer_support",
    "practical",
    "talk_to_human",
)
TOPIC_INTENT: dict[str, str] = {topic: topic for topic in (*MENU_TOPICS, "for_professionals", "privacy")}

# Topics worth offering when the model is unsure (not small talk).
SUGGESTIBLE: frozenset[str] = frozenset((*MENU_TOPICS, "for_professionals", "privacy"))


def topic_of(intent: str) -> str:
    return INTENT_TOPIC.get(intent, "out_of_scope")
