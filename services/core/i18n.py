"""The languages of the user interface: message catalogues, the current person's language, dates and numbers.

UI text is written in English in the code, wrapped in `_()`:

    from services.core.i18n import _, _n
    ui.label(_('Models'))
    ui.label(_('Ollama at {url} is not reachable.', url=status.url))   # placeholders are str.format fields
    ui.label(_n('{count} attendee online', '{count} attendees online', n, count=n))

The translations are gettext catalogues, `locales/<language>/LC_MESSAGES/<area>.po` (one file an area of the UI, so
that people translating different pages never edit the same file), read with Babel at start-up: no compile step and
no binary files in the tree. `pybabel extract -F babel.cfg -o locales/messages.pot .` lists every text to translate;
`tests/unit/test_i18n.py` fails when a text on a page is not wrapped, or has no translation in a language we ship.

Whose language? The UI asks a resolver, which the page layer installs (`components.i18n`): the language of the
browser tab being served (the person's choice, else their browser's Accept-Language). Outside a page (the API, a
background job) it is English. Services write their messages in English, marked with `N_()`, and the page that shows
one passes it to `_()`:

    raise InvalidInput(N_('A name has at most {limit} characters.', limit=LIMIT))   # in a service
    ui.notify(_(exc.message))                                                      # in the page

`N_` with values gives a `Message`: the English sentence (so the API, logs and `str(exc)` stay as they were) that
also remembers its template and values, so `_()` can translate the template and fill in the same values.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from gettext import c2py
from pathlib import Path
from string import Formatter

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parents[2] / 'locales'
DEFAULT = 'en'
LANGUAGES = {'en': 'English', 'de': 'Deutsch'}  # code -> the language's name in itself, as the switcher shows it

_catalogues: dict[str, dict[str | tuple[str, str], str | tuple[str, ...]]] = {}
_plural_rules: dict[str, Callable[[int], int]] = {}
_patterns: dict[str, list[tuple[re.Pattern[str], str]]] = {}  # language -> (English template as a regex, translation)
_resolver: Callable[[], str] = lambda: DEFAULT  # noqa: E731 (replaced by the page layer)


def load(directory: Path = LOCALES_DIR) -> None:
    """Read every catalogue of every shipped language (called once at import; again by tests that add one)."""
    _catalogues.clear()
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        messages: dict[str | tuple[str, str], str | tuple[str, ...]] = {}
        for path in sorted((directory / language / 'LC_MESSAGES').glob('*.po')):
            with path.open('rb') as handle:
                catalogue = read_po(handle, locale=language)
            _plural_rules[language] = catalogue.plural_expr and _plural_function(catalogue.plural_expr)
            for message in catalogue:
                if not message.id or message.fuzzy:
                    continue
                key = tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id
                value = tuple(message.string) if isinstance(message.string, (list, tuple)) else message.string
                if (all(value) if isinstance(value, tuple) else value) and key not in messages:
                    messages[key] = value
        _catalogues[language] = messages
        _patterns[language] = _template_patterns(messages)


def _template_patterns(messages: dict) -> list[tuple[re.Pattern[str], str]]:
    """Every translated template with values, as a regex that recognises its English sentence filled in: a service's
    sentence stored as text (a document's error, a run's failure) is shown in the reader's language all the same."""
    patterns = []
    for template, translation in messages.items():
        if not isinstance(template, str) or not isinstance(translation, str) or '{' not in template:
            continue
        regex, seen = [], set()
        try:
            for literal, name, _spec, _conversion in Formatter().parse(template):
                regex.append(re.escape(literal))
                if name is None:
                    continue
                if not name.isidentifier():
                    raise ValueError(name)
                regex.append(f'(?P={name})' if name in seen else f'(?P<{name}>.+?)')
                seen.add(name)
        except ValueError:
            continue
        if seen:
            plain = ''.join(  # the translation with its fields as plain {name}: the values are text already
                literal.replace('{', '{{').replace('}', '}}') + ('{' + name + '}' if name is not None else '')
                for literal, name, _spec, _conversion in Formatter().parse(translation)
            )
            patterns.append((re.compile(''.join(regex), re.DOTALL), plain))
    patterns.sort(key=lambda item: -len(item[0].pattern))  # the most specific first
    return patterns


def _recognise(text: str, language: str) -> str | None:
    """The translation of an English sentence that a template produced (None when no template fits)."""
    if len(text) > 2000:
        return None
    for pattern, translation in _patterns.get(language, ()):
        if (match := pattern.fullmatch(text)) is not None:
            try:
                # a value that is a whole catalogue text itself ("Too many wrong codes.") is translated too
                return translation.format(**{k: gettext(v, language) for k, v in match.groupdict().items()})
            except (KeyError, IndexError, ValueError):
                return None
    return None


def _plural_function(expression: str) -> Callable[[int], int]:
    """gettext's plural expression (`(n != 1)`) as a function, by the standard library's own parser, which accepts
    only gettext's C-like arithmetic on n."""
    try:
        return c2py(expression)
    except (ValueError, SyntaxError):
        log.warning('plural expression %r not understood: using n != 1', expression)
        return lambda n: int(n != 1)


def set_resolver(resolver: Callable[[], str]) -> None:
    """Install how the current language is found (the page layer: the browser tab being served)."""
    global _resolver
    _resolver = resolver


def current() -> str:
    try:
        language = _resolver()
    except Exception:
        return DEFAULT
    return language if language in LANGUAGES else DEFAULT


def negotiate(accept_language: str | None) -> str:
    """The first shipped language in an Accept-Language header (`de-CH,de;q=0.9,en;q=0.8` -> de), else English."""
    weighted = []
    for position, part in enumerate((accept_language or '').split(',')):
        tag, _sep, quality = part.strip().partition(';q=')
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        weighted.append((-weight, position, tag.strip().lower().split('-')[0]))
    for _weight, _position, code in sorted(weighted):
        if code in LANGUAGES:
            return code
    return DEFAULT


class Message(str):
    """A service's sentence with values in it: the English text, which also keeps its template and values, so that a
    page can show it in the reader's language (`_(message)`). Values that are `Message`s themselves (a status, a kind)
    are translated too."""

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, values: dict[str, object]) -> Message:
        text = super().__new__(cls, template.format(**values))
        text.template = template
        text.values = values
        return text

    def __reduce__(self) -> tuple[object, ...]:  # a copy or a pickle keeps what it is
        return Message, (self.template, self.values)


def gettext(message: str, language: str | None = None) -> str:
    language = language or current()
    translated = _catalogues.get(language, {}).get(message)
    return translated if isinstance(translated, str) else message


def _(message: str, /, **values: object) -> str:
    """The message in the current language; `values` fill its `{placeholders}`. A service's `Message` is translated
    from its template and filled with its own values."""
    if isinstance(message, Message) and not values:
        if not message.values:  # a fixed sentence (as a value of another one, or side by side with others)
            return _(message.template)
        values = {k: _(v) if isinstance(v, Message) else v for k, v in message.values.items()}
        try:
            return gettext(message.template).format(**values)
        except (KeyError, IndexError, ValueError):  # a translation that does not fit its values: the English
            return str.__str__(message)
    text = gettext(message)
    if values:
        return text.format(**values)
    if text is message and isinstance(message, str) and '{' not in message and (language := current()) != DEFAULT:
        return _recognise(message, language) or message  # a stored sentence with values in it
    return text


def joined(parts: list[str], separator: str = ' ') -> str:
    """Sentences (or `Message`s) side by side as one `Message`: each is translated on its own when shown."""
    values = {f'part{i}': part if isinstance(part, Message) or '{' in part else Message(part, {})
              for i, part in enumerate(parts)}  # fmt: skip
    template = separator.replace('{', '{{').replace('}', '}}').join('{' + name + '}' for name in values)
    return Message(template, values)


def N_(message: str, /, **values: object) -> str:
    """Marks a text for the catalogues without translating it yet: a service's texts (errors, statuses, the reasons a
    check gives) are marked where they are written and translated by the page that shows them. With values, the
    English sentence is filled in and remembers its template (a `Message`)."""
    return Message(message, values) if values else message


def _n(singular: str, plural: str, count: int, /, **values: object) -> str:
    """The singular or plural form for `count`, in the current language; `values` fill its placeholders."""
    language = current()
    forms = _catalogues.get(language, {}).get((singular, plural))
    if isinstance(forms, tuple):
        index = _plural_rules.get(language, lambda n: int(n != 1))(count)
        text = forms[min(index, len(forms) - 1)]
    else:
        text = singular if count == 1 else plural
    return text.format(**values) if values else text


# ----- dates and numbers in the current language --------------------------------------------------------------------
def _locale() -> Locale:
    return Locale.parse({'en': 'en_GB', 'de': 'de_DE'}.get(current(), 'en_GB'))


def number(value: float | int, digits: int | None = None) -> str:
    """1234.5 -> '1,234.5' (en) or '1.234,5' (de); `digits` fixes the decimals."""
    pattern = None if digits is None else '#,##0' + ('.' + '0' * digits if digits else '')
    return format_decimal(value, format=pattern, locale=_locale())


def percent(fraction: float, digits: int = 0) -> str:
    return format_percent(fraction, format='#,##0' + ('.' + '0' * digits if digits else '') + ' %', locale=_locale())


def day(when: datetime) -> str:
    """A date: '4 Dec 2026' (en) or '04.12.2026' (de)."""
    return format_date(when, format='medium', locale=_locale())


def moment(when: datetime) -> str:
    """A date and time to the minute: '4 Dec 2026, 14:05' (en) or '04.12.2026, 14:05' (de)."""
    return format_datetime(when, format='medium', locale=_locale()).rsplit(':', 1)[0]


def clock(when: datetime) -> str:
    """A time of day to the minute: '14:05'."""
    return format_time(when, format='short', locale=_locale())


load()
