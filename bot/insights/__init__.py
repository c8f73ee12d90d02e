"""Anonymous insights: counters per ISO week (`recorder`), and the report that hides small numbers (`report`)."""
