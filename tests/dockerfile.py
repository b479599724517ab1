"""A small reader of the project's Dockerfile: the instructions of each build stage, as the tests need them.

It understands what the Dockerfile uses: comments, line continuations, `FROM image AS name`, `ENV k=v ...`, exec-form
(JSON) `CMD`/`ENTRYPOINT`/`HEALTHCHECK ... CMD [...]`. It is no general Dockerfile parser (no here-docs, no ARG
substitution): a test fails when it meets something it does not read.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / 'Dockerfile'
_FROM = re.compile(r'^(?P<image>\S+)(?:\s+AS\s+(?P<name>\S+))?$', re.IGNORECASE)


@dataclass(kw_only=True, slots=True)
class HealthCheck:
    options: dict[str, str]
    command: list[str]

    def seconds(self, option: str, default: float) -> float:
        value = self.options.get(option)
        return float(value.removesuffix('s')) if value else default


@dataclass(kw_only=True, slots=True)
class Stage:
    name: str
    image: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]

    def last(self, keyword: str) -> str | None:
        found = self.all(keyword)
        return found[-1] if found else None

    @property
    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all('ENV'):
            parts = shlex.split(args)
            if len(parts) >= 2 and '=' not in parts[0]:  # legacy form: ENV KEY value with spaces
                values[parts[0]] = ' '.join(parts[1:])
                continue
            for part in parts:
                key, sep, value = part.partition('=')
                assert sep, f'cannot read ENV {args!r}'
                values[key] = value
        return values

    @property
    def command(self) -> list[str]:
        """ENTRYPOINT followed by CMD (both exec form), as Docker runs them."""
        entrypoint, cmd = self.last('ENTRYPOINT'), self.last('CMD')
        return (_exec_form(entrypoint) if entrypoint else []) + (_exec_form(cmd) if cmd else [])

    @property
    def healthcheck(self) -> HealthCheck | None:
        args = self.last('HEALTHCHECK')
        if args is None or args.strip().upper() == 'NONE':
            return None
        options, _, command = args.partition(' CMD ')
        assert command, f'cannot read HEALTHCHECK {args!r}'
        return HealthCheck(
            options=dict(option.removeprefix('--').split('=', 1) for option in options.split()),
            command=_exec_form(command),
        )


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), f'not exec form: {args!r}'
    return value


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each instruction, continuations joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ''
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue  # Docker drops comment lines, also inside a continued instruction
        if line.endswith('\\'):
            pending += line[:-1].strip() + ' '
            continue
        keyword, _, args = (pending + line).partition(' ')
        result.append((keyword.upper(), args.strip()))
        pending = ''
    assert not pending, 'the Dockerfile ends inside a continued line'
    return result


def stages(path: Path = DOCKERFILE) -> dict[str, Stage]:
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, args in instructions(path.read_text()):
        if keyword == 'FROM':
            match = _FROM.match(args)
            assert match, f'cannot read FROM {args!r}'
            name = match['name'] or str(len(found))
            current = found[name] = Stage(name=name, image=match['image'])
            if match['image'] in found:  # FROM another stage: it inherits that stage's instructions
                current.instructions = list(found[match['image']].instructions)
        else:
            assert current is not None, f'{keyword} before FROM'
            current.instructions.append((keyword, args))
    return found
