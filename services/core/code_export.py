"""'Show as Python': the shared pieces of the standalone scripts that take what attendees built home.

Each area writes its own script (`services.knowledge.code_export`, `services.chat.code_export`,
`services.prompts.code_export`, `services.tools.code_export`) from these pieces:

- `literal` writes a value as Python source built on `repr()`, laid out the way `ruff format` lays it out (long
  strings cut into implicitly concatenated pieces, long dicts and lists one item per line). A value is never pasted
  into code as text, so a prompt with quotes, triple quotes, backslashes or newlines stays inside its string.
- `constants` writes `NAME = value` lines; `script` puts a docstring (fixed text: no user value is ever written into
  it), the imports, the constants and the code together and checks that the result compiles.

The scripts read `OLLAMA_HOST` (default http://localhost:11434), like the `ollama` command itself.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

WIDTH = 120  # the line length of the generated code (the project's own)
INDENT = 4
PIECE = 78  # the longest piece of a long string, before repr() escapes it
_WORD = re.compile(r'\S*\s*')
_LINE = re.compile(r'[^\n]*\n|[^\n]+')  # lines end at \n only (not at the other breaks str.splitlines knows)
# the first constant of every script
OLLAMA_HOST = "OLLAMA_HOST = os.environ.get('OLLAMA_HOST', 'http://localhost:11434')\n"


@dataclass(kw_only=True, slots=True)
class Script:
    """A standalone script: what the dialog shows and the Download button saves."""

    filename: str  # a safe file name: letters, digits and underscores, ending in .py
    code: str
    title: str  # what it reproduces, for the dialog ('RAG system "Nature QA"')
    bundle_name: str = ''  # a zip with the script and what it needs (a RAG system's documents), if there is one


def slug(name: str, fallback: str) -> str:
    """A file name stem from a user's name: lower-case letters, digits and underscores only."""
    text = re.sub(r'[^a-z0-9]+', '_', (name or '').lower()).strip('_')[:40].strip('_')
    return text or fallback


def string(text: str) -> str:
    """A string literal, escaped as repr() escapes it, in the quotes `ruff format` picks: single ones, double ones when
    the text holds more single quotes than double ones (fewer escapes)."""
    quote = '"' if text.count("'") > text.count('"') else "'"
    out = []
    for char in text:
        if char == '\\' or char == quote:
            out.append('\\' + char)
        elif char.isprintable():
            out.append(char)
        else:  # \n, \t, \x00, \u2028 ...: repr()'s own escape
            out.append(repr(char)[1:-1])
    return quote + ''.join(out) + quote


def _pieces(text: str) -> list[str]:
    """A long string cut after its line breaks and, within long lines, between words."""
    out: list[str] = []
    for line in _LINE.findall(text):
        current = ''
        for word in _WORD.findall(line):
            if current and len(current) + len(word) > PIECE:
                out.append(current)
                current = ''
            current += word
        if current:
            out.append(current)
    return out or ['']


def literal(value: Any, column: int = 0, indent: int = 0, tail: int = 0) -> str:
    """`value` (str, number, bool, None, list, tuple or dict of these, as JSON gives them) as Python source.

    `column` is where the literal starts on its line, `indent` that line's indentation and `tail` how many characters
    follow it on the line (a comma, a closing bracket); a literal that does not fit is laid out over several lines.
    """
    if isinstance(value, str):
        flat = string(value)
        if column + len(flat) + tail <= WIDTH or len(pieces := _pieces(value)) == 1:
            return flat
        inner = ' ' * (indent + INDENT)
        if len(inner) + len(flat) <= WIDTH:  # on a line of its own, in parentheses
            pieces = [value]
        return '(\n' + '\n'.join(inner + string(p) for p in pieces) + '\n' + ' ' * indent + ')'
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        items = [(string(str(k)) + ': ', v) for k, v in value.items()]
        return _container('{', '}', items, column, indent, tail)
    if isinstance(value, list | tuple):
        return _container('[', ']', [('', v) for v in value], column, indent, tail)
    raise TypeError(f'cannot write {type(value).__name__} as a literal')


def _container(open_: str, close: str, items: list[tuple[str, Any]], column: int, indent: int, tail: int) -> str:
    if not items:
        return open_ + close
    flat = open_ + ', '.join(key + repr_flat(v) for key, v in items) + close
    if '\n' not in flat and column + len(flat) + tail <= WIDTH:
        return flat
    inner = indent + INDENT
    lines = []
    for key, v in items:
        start = inner + len(key)
        lines.append(' ' * inner + key + literal(v, start, inner, 1) + ',')
    return open_ + '\n' + '\n'.join(lines) + '\n' + ' ' * indent + close


def repr_flat(value: Any) -> str:
    """`value` on one line (strings by repr(), containers item after item)."""
    if isinstance(value, dict):
        return '{' + ', '.join(f'{string(str(k))}: {repr_flat(v)}' for k, v in value.items()) + '}'
    if isinstance(value, list | tuple):
        return '[' + ', '.join(repr_flat(v) for v in value) + ']'
    return string(value) if isinstance(value, str) else repr(value)


def constants(**values: Any) -> str:
    """`NAME = value` lines, one per keyword (module constants of a script)."""
    return '\n'.join(f'{name} = {literal(value, len(name) + 3)}' for name, value in values.items())


def script(*, doc: str, imports: list[str], body: list[str], filename: str, title: str, bundle: str = '') -> Script:
    """The parts joined into a module (blank lines where `ruff format` puts them), checked to compile.

    `doc` is fixed text of the area's own (never a user's value); `body` holds blocks of code: constants and
    definitions, in order, separated by two blank lines when one of them is a `def`.
    """
    if '"""' in doc or '\\' in doc:
        raise ValueError('a docstring holds fixed text only')
    code = '\n\n'.join(['"""' + doc.strip() + '\n"""', _imports(imports)])
    previous_def = False
    for block in [*body, "if __name__ == '__main__':\n    main()"]:
        block = block.strip('\n')
        is_def = block.startswith(('def ', 'class ', '@'))
        code += ('\n\n\n' if is_def or previous_def else '\n\n') + block
        previous_def = is_def
    code += '\n'
    ast.parse(code, filename)  # raises SyntaxError: a bug here, never the user's text
    return Script(filename=filename, code=code, title=title, bundle_name=bundle)


def _imports(imports: list[str]) -> str:
    """Standard-library imports, then third-party ones, each group sorted (as ruff's isort rule wants them)."""

    def key(line: str) -> tuple[bool, str]:
        return line.startswith('from '), line.split()[1]

    stdlib = sorted((i for i in imports if i.split()[1].split('.')[0] in _STDLIB), key=key)
    other = sorted((i for i in imports if i not in stdlib), key=key)
    return '\n\n'.join('\n'.join(group) for group in (stdlib, other) if group)


_STDLIB = {'argparse', 'json', 'os', 're', 'sys', 'urllib', 'pathlib'}
