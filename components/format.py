"""Small formatting helpers for sizes, speeds and durations, in the tab's language (decimal commas in German)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.core import i18n
from services.core.i18n import _, _n


def size(num: float | None) -> str:
    if not num:
        return '0 B'
    for unit in ('B', 'KB', 'MB', 'GB', 'TB'):
        if abs(num) < 1000 or unit == 'TB':
            return f'{i18n.number(num, 0)} {unit}' if unit == 'B' else f'{i18n.number(num, 1)} {unit}'
        num /= 1000
    return f'{i18n.number(num, 1)} TB'


def speed(bytes_per_s: float | None) -> str:
    return f'{size(bytes_per_s)}/s' if bytes_per_s else '–'


def ms(value: float | None) -> str:
    if value is None:
        return '–'
    return f'{i18n.number(value, 0)} ms' if value < 10_000 else f'{i18n.number(value / 1000, 1)} s'


def ago(when: datetime | None) -> str:
    if when is None:
        return '–'
    seconds = (datetime.now(UTC) - when.astimezone(UTC)).total_seconds()
    if seconds < 0:
        if seconds <= -3600:
            return i18n.moment(when)
        minutes = round(-seconds / 60)
        return _n('in {count} min', 'in {count} min', minutes, count=minutes)
    if seconds < 60:
        return _('just now')
    if seconds < 3600:
        minutes = round(seconds / 60)
        return _n('{count} min ago', '{count} min ago', minutes, count=minutes)
    if seconds < 86400:
        hours = round(seconds / 3600)
        return _n('{count} h ago', '{count} h ago', hours, count=hours)
    return i18n.day(when)
