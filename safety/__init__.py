"""The safety net: reads every message first, without the NLU service, for danger and distress."""
