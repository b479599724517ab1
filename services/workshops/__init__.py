"""Workshops: creating and running them (`service`), the live room of a running workshop (`session`, `live`), the
completion rules of steps (`rules`), the exercise checks of steps (`checks`: judging; `checking`: running them on the
attendees' activity), reports (`report`) and their plain data (`types`).

May import: every other area package. Membership lookups that other areas need live in `services.core.membership`.
"""
