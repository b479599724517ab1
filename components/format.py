"""Small formatting helpers for sizes, speeds and durations."""

from __future__ import annotations

from datetime import UTC, datetime


def size(num: float | None) -> str:
    if not num:
        return '0 B'
    for unit in ('B', 'KB', 'MB', 'GB', 'TB'):
        if abs(num) < 1000 or unit == 'TB':
            return f'{num:.0f} {unit}' if unit == 'B' else f'{num:.1f} {unit}'
        num /= 1000
    return f'{num:.1f} TB'


def speed(bytes_per_s: float | None) -> str:
    return f'{size(bytes_per_s)}/s' if bytes_per_s else '–'


def ms(value: float | None) -> str:
    if value is None:
        return '–'
    return f'{value:.0f} ms' if value < 10_000 else f'{value / 1000:.1f} s'


def ago(when: datetime | None) -> str:
    if when is None:
        return '–'
    seconds = (datetime.now(UTC) - when.astimezone(UTC)).total_seconds()
    if seconds < 0:
        return f'in {-seconds / 60:.0f} min' if seconds > -3600 else when.strftime('%Y-%m-%d %H:%M')
    if seconds < 60:
        return 'just now'
    if seconds < 3600:
        return f'{seconds / 60:.0f} min ago'
    if seconds < 86400:
        return f'{seconds / 3600:.0f} h ago'
    return when.strftime('%Y-%m-%d')
