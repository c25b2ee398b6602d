"""The clinical record: patients, sessions, doses, ratings, notes and protocol timers. No Qt."""
