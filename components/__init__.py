"""Reusable UI pieces: functions that build and return elements. Components never import `models`."""
