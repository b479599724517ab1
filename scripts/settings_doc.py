"""Regenerate .env.example from config.Settings (and print the README's configuration table).

python scripts/settings_doc.py [--table]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import Settings  # noqa: E402


def _default(field) -> str:
    value = field.default
    if hasattr(value, 'as_posix'):
        return './' + value.as_posix()
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def env_example() -> str:
    lines = [
        '# Ollama Workshop Platform settings. Copy to .env and uncomment what you change.',
        '# Every setting can also be given as an environment variable of the same name.',
        '',
    ]
    for name, field in Settings.model_fields.items():
        lines += [f'# {field.description}', f'# {name.upper()}={_default(field)}', '']
    return '\n'.join(lines)


def table() -> str:
    rows = ['| variable | default | meaning |', '|---|---|---|']
    for name, field in Settings.model_fields.items():
        default = _default(field)
        rows.append(f'| `{name.upper()}` | {f"`{default}`" if default else "(empty)"} | {field.description} |')
    return '\n'.join(rows)


if __name__ == '__main__':
    if '--table' in sys.argv:
        print(table())
    else:
        (ROOT / '.env.example').write_text(env_example())
        print('wrote .env.example')
