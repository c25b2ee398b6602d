"""The clinical record: patients, sessions, doses, ratings, notes and protocol timers. No Qt, no database.

Where to start reading:
- ``entries``: the frozen entries (one per database row) a record is made of;
- ``timeline``: ``SessionRecord``, the append-only log with amendments, sign-off and addenda;
- ``dosing``: rate conversions, cumulative mg and mg/kg, the intranasal rest, the max-dose check;
- ``templates`` / ``scales`` / ``quick_events``: the clinic-editable data in ``resources/``;
- ``prompts``: which checks are due now; ``discharge``: the discharge checklist and the Spravato REMS form.
"""
