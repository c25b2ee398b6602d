"""The clinical record during a session: doses, ratings, notes, entries, prompts and discharge."""
