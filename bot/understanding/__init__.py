"""Understanding a message: the NLU client, intents and topics, entities, language; combined with the safety net."""
