"""The UI's languages (issue 19, item 8): every text a page shows is in the message catalogues, and German has it.

The source scan reads pages/ and components/ as a translator's tool would: a text given to a UI element must be
wrapped in `_()` (or `_n()`), and every wrapped text must have a German translation with the same placeholders.
The browser test that switches language and reads the pages is tests/e2e/test_languages.py.
"""

from __future__ import annotations

import ast
import re
import string
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from services.core import i18n

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = sorted(p.relative_to(ROOT).as_posix() for d in ('pages', 'components') for p in (ROOT / d).glob('*.py'))

# ui.<name>(text, ...) whose first argument is shown to people
TEXT_ELEMENTS = {
    'label', 'button', 'link', 'markdown', 'notify', 'chip', 'badge', 'tab', 'checkbox', 'switch', 'menu_item',
    'expansion', 'item_label', 'page_title', 'html', 'step', 'radio', 'toggle', 'input', 'textarea', 'number', 'select',
}  # fmt: skip
TEXT_METHODS = {'tooltip', 'notify', 'set_text'}  # element.tooltip('...'), client notifications
TEXT_KEYWORDS = {'label', 'placeholder', 'hint', 'text', 'title', 'caption', 'suffix', 'prefix', 'message', 'prompt'}
DICT_KEYS = {'label', 'headerName'}  # table columns: {'name': 'size', 'label': 'Size', ...}
PROPS_TEXT = re.compile(r'\b(?:aria-label|label|placeholder|hint|title|caption|no-data-label)="([^"{]*[A-Za-z][^"]*)"')
LETTERS = re.compile(r'[A-Za-z]{2,}')
NOT_PROSE = re.compile(r'^(?:[a-z0-9_.:/-]+|[A-Z0-9_]+|https?://\S+|#\w+)$')  # markers, icons, paths, constants


def _literal_text(node: ast.AST) -> str | None:
    """The prose of a literal shown as is: a string or f-string with words in it (None for anything else)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = ''.join(v.value for v in node.values if isinstance(v, ast.Constant))
    else:
        return None
    stripped = text.strip()
    if not LETTERS.search(stripped) or NOT_PROSE.match(stripped):
        return None
    return stripped


def _ui_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == 'ui':
        return func.attr
    return None


def unwrapped_texts(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _ui_name(node)
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if (name in TEXT_ELEMENTS or (name is None and method in TEXT_METHODS)) and node.args:
                if (text := _literal_text(node.args[0])) is not None:
                    found.append((node.lineno, text))
            if isinstance(node.func, ast.Name) and node.func.id == 'frame' and len(node.args) >= 3:
                if (text := _literal_text(node.args[2])) is not None:  # frame(services, user, 'Page title')
                    found.append((node.lineno, text))
            if name is not None or method in TEXT_METHODS:
                for keyword in node.keywords:
                    if keyword.arg in TEXT_KEYWORDS and (text := _literal_text(keyword.value)) is not None:
                        found.append((keyword.value.lineno, text))
            if method == 'props' and node.args and isinstance(node.args[0], (ast.Constant, ast.JoinedStr)):
                literal = node.args[0]
                parts = [literal] if isinstance(literal, ast.Constant) else literal.values
                for part in parts:
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found += [(node.lineno, m) for m in PROPS_TEXT.findall(part.value)]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value in DICT_KEYS:
                    if (text := _literal_text(value)) is not None:
                        found.append((value.lineno, text))
    return found


@pytest.mark.parametrize('path', UI_FILES)
def test_every_text_on_a_page_is_in_the_catalogues(path: str) -> None:
    found = unwrapped_texts((ROOT / path).read_text())
    assert not found, f'{path}: texts shown without _(): ' + '; '.join(f'line {n}: {t!r}' for n, t in found)


def test_no_page_hides_the_translation_function() -> None:
    """`for _ in ...` or `lambda _: ...` would make `_('...')` in that scope call something else."""
    offenders = []
    for path in UI_FILES:
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if isinstance(node, ast.Name) and node.id == '_' and isinstance(node.ctx, ast.Store):
                offenders.append(f'{path}:{node.lineno}')
            elif isinstance(node, ast.arg) and node.arg == '_':
                offenders.append(f'{path}:{node.lineno}')
    assert not offenders, f'`_` bound as a variable: {offenders}'


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_german_has_every_text_with_the_same_placeholders() -> None:
    i18n.load()
    german = i18n._catalogues['de']
    missing, wrong = [], []
    for directory in ('pages', 'components', 'services'):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / directory, method_map=[('**.py', 'python')], keywords={'_': None, '_n': (1, 2), 'N_': None}
        ):
            key = tuple(message) if isinstance(message, tuple) else message
            where = f'{directory}/{filename}:{lineno}'
            if key not in german:
                missing.append(f'{where} {key!r}')
                continue
            sources = key if isinstance(key, tuple) else (key,)
            targets = german[key] if isinstance(german[key], tuple) else (german[key],)
            expected = set().union(*map(_placeholders, sources))
            if any(_placeholders(t) - expected for t in targets) or not _placeholders(targets[0]) >= _placeholders(
                sources[0]
            ) - {'count'}:
                wrong.append(f'{where} {key!r} -> {german[key]!r}')
    assert not missing, f'{len(missing)} texts have no German translation:\n' + '\n'.join(missing)
    assert not wrong, 'German translations whose placeholders differ:\n' + '\n'.join(wrong)


def test_the_source_scan_finds_what_it_should() -> None:
    source = """
ui.label('Models')
ui.button(f'Delete {name}', icon='delete')
ui.input(label='Email', placeholder=_('you@example.com'))
x.tooltip('Dark mode')
x.props('flat aria-label="Close"')
columns = [{'name': 'size', 'label': 'Size'}]
ui.label(_('Fine'))
with frame(services, user, 'Users'):
    pass
ui.icon('delete')
ui.label('–')
x.props('flat round color=white')
"""
    assert [text for _n, text in unwrapped_texts(source)] == [
        'Models', 'Delete', 'Email', 'Dark mode', 'Close', 'Size', 'Users'
    ]  # fmt: skip


def test_a_browser_language_is_negotiated() -> None:
    assert i18n.negotiate('de-CH,de;q=0.9,en;q=0.8') == 'de'
    assert i18n.negotiate('fr-FR, en;q=0.5, de;q=0.7') == 'de'
    assert i18n.negotiate('fr') == 'en'
    assert i18n.negotiate(None) == 'en'
    assert i18n.negotiate('de;q=nonsense, en') == 'en'


def test_dates_numbers_and_plurals_follow_the_language() -> None:
    when = datetime(2026, 12, 4, 14, 5)
    try:
        i18n.set_resolver(lambda: 'de')
        assert (i18n.number(1234.5), i18n.day(when), i18n.moment(when)) == (
            '1.234,5',
            '04.12.2026',
            '04.12.2026, 14:05',
        )
        assert i18n._('Language') == 'Sprache'
        i18n.set_resolver(lambda: 'en')
        assert (i18n.number(1234.5), i18n.day(when), i18n.moment(when)) == (
            '1,234.5',
            '4 Dec 2026',
            '4 Dec 2026, 14:05',
        )
        assert i18n._('Language') == 'Language'
        assert i18n._n('{count} file', '{count} files', 1, count=1) == '1 file'
        assert i18n._n('{count} file', '{count} files', 3, count=3) == '3 files'
    finally:
        from components import i18n as i18n_ui

        i18n.set_resolver(i18n_ui._resolve)


def test_code_is_shown_with_a_named_copy_button() -> None:
    """NiceGUI's `ui.code` draws an icon-only copy button and a scrolling area without keyboard access:
    pages show code through components.code_block, which names both."""
    raw = [f'{path}:{node.lineno}' for path in UI_FILES if path != 'components/code_block.py'
           for node in ast.walk(ast.parse((ROOT / path).read_text()))
           if isinstance(node, ast.Call) and _ui_name(node) == 'code']  # fmt: skip
    assert not raw, f'ui.code used directly: {raw}'


def _error_classes() -> set[str]:
    """Every exception class of services/ and api/ whose message people read: ServiceError, OllamaError and their
    subclasses, found by reading the class definitions."""
    known, definitions = {'ServiceError', 'OllamaError'}, []
    for path in sorted((ROOT / 'services').rglob('*.py')) + sorted((ROOT / 'api').rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                definitions.append((node.name, {b.id for b in node.bases if isinstance(b, ast.Name)}))
    grew = True
    while grew:
        grew = False
        for name, bases in definitions:
            if name not in known and bases & known:
                known.add(name)
                grew = True
    return known


def untranslatable_errors(source: str, classes: set[str]) -> list[int]:
    """Lines where an error is raised with a bare text or an f-string: such a message cannot be translated (a text
    is marked with N_(...), values are given to N_ as keywords)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in classes
        and node.args
        and (isinstance(node.args[0], ast.JoinedStr) or isinstance(node.args[0], ast.Constant))
    ]


def test_every_service_error_message_can_be_translated() -> None:
    classes = _error_classes()
    assert {'InvalidInput', 'Throttled', 'ModelNotFound', 'UnsafeURL', 'ToolFailed'} <= classes
    offenders = [
        f'{path.relative_to(ROOT)}:{line}'
        for path in sorted((ROOT / 'services').rglob('*.py')) + sorted((ROOT / 'api').rglob('*.py'))
        for line in untranslatable_errors(path.read_text(), classes)
    ]
    assert not offenders, f'errors raised with an unmarked text or an f-string (use N_): {offenders}'
    assert untranslatable_errors("raise InvalidInput(f'At most {n}.')\nraise NotFound('Gone.')", classes) == [1, 2]
    assert untranslatable_errors("raise InvalidInput(N_('At most {n}.', n=n))", classes) == []


def test_a_service_message_with_values_is_shown_in_the_readers_language() -> None:
    from services.core.auth import PASSWORD_RULE
    from services.core.errors import InvalidInput
    from services.core.throttles import wait_sentence

    error = InvalidInput(i18n.N_(PASSWORD_RULE, length=12))
    english = 'Password must be at least 12 characters and contain a letter and a digit.'
    assert str(error) == error.message == english  # the API and the logs: English
    wait = wait_sentence(i18n.N_('Too many wrong codes.'), 2.5)
    stored = str(i18n.N_('The model {model} is on no host here: pick another model to continue.', model='x:1b'))
    try:
        i18n.set_resolver(lambda: 'de')
        german = i18n._(error.message)
        assert german == i18n._(PASSWORD_RULE, length=12) and german != english and '12' in german
        assert (
            i18n._(wait)
            == f'{i18n._("Too many wrong codes.")} '
            + i18n._('{what} Try again in {wait} seconds.', what='', wait=3).lstrip()
        )
        # a sentence kept as plain text (a stored error, an event over the bus) is recognised by its template
        recognised = i18n._(stored)
        assert recognised != stored and 'x:1b' in recognised
        assert (
            i18n._('Words that are in no catalogue, {not a field}') == 'Words that are in no catalogue, {not a field}'
        )
        joined = i18n.joined([i18n.N_('Too many wrong codes.'), 'as it is'])
        assert i18n._(joined) == i18n._('Too many wrong codes.') + ' as it is'
    finally:
        from components import i18n as i18n_ui

        i18n.set_resolver(i18n_ui._resolve)
