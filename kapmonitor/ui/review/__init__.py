"""Review of recorded sessions: the session browser and the review window."""
