"""The conversation: the message pipeline, its declared steps and actions, and the answers."""
