"""Languages (issue 19, item 8) in a real browser: an admin switches to German with the header's switcher and the
main pages show no English text that the German catalogue translates; a German browser sees the sign-in page in
German without choosing; the choice follows the account to another browser; dates follow the language.

The source scan that every text is wrapped and translated is tests/unit/test_i18n.py.
"""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from services.core import i18n
from tests.e2e.axe import settle
from tests.e2e.conftest import PASSWORD, LiveApp

MAIN_PAGES = ['/', '/models', '/playground', '/compare', '/prompts', '/tools', '/tools/chat', '/knowledge',
              '/embeddings', '/rag', '/workshops', '/tokens', '/usage', '/admin/users', '/admin/hosts', '/quotas',
              '/admin/audit']  # fmt: skip
# names stored as data, which their owner may rename: the Ollama host registered from OLLAMA_HOST is called "Default"
DATA = {'Default'}
GERMAN_DATE_TIME = re.compile(r'^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$')  # 04.12.2026, 14:05


def english_texts_with_a_german_translation() -> set[str]:
    """Every English text of the German catalogues whose German differs (a line showing one is untranslated),
    except where the same words are also the German of another text ('thinking' is 'Thinking' in German)."""
    i18n.load()
    english, german_texts = set(), set()
    for key, german in i18n._catalogues['de'].items():
        pairs = list(zip(key, german, strict=False)) if isinstance(key, tuple) else [(key, german)]
        english |= {source for source, target in pairs if source.strip() and source != target}
        german_texts |= {target for _source, target in pairs}
    return english - german_texts


VISIBLE_TEXT = """() => {
    // icons are ligatures ('chat', 'delete'): their names are not text people read; and the text as written,
    // not as Quasar's buttons transform it (DELETE)
    const icons = [...document.querySelectorAll('.q-icon, .material-icons')].filter(i => i.style.display !== 'none');
    icons.forEach(i => { i.dataset.display = i.style.display; i.style.display = 'none'; });
    const style = document.createElement('style');
    style.textContent = '* { text-transform: none !important; }';
    document.head.appendChild(style);
    const text = document.body.innerText;
    style.remove();
    icons.forEach(i => { i.style.display = i.dataset.display; delete i.dataset.display; });
    return text;
}"""


def visible_lines(page: Page) -> list[str]:
    return [line.strip() for line in page.evaluate(VISIBLE_TEXT).splitlines() if line.strip()]


def german_context_page(browser: Browser, locale: str) -> Page:
    context = browser.new_context(locale=locale, viewport={'width': 1366, 'height': 800})
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in(page: Page, app: LiveApp, email: str) -> None:
    page.goto(f'{app.url}/login')
    page.locator('input[type=email]').fill(email)
    page.locator('input[type=password]').fill(PASSWORD)
    page.locator('input[type=password]').press('Enter')
    page.wait_for_url(re.compile(r'/$'))


def test_an_admin_switches_to_german_and_the_main_pages_speak_it(live_app: LiveApp, signed_in_page) -> None:
    page = signed_in_page('admin')
    expect(page.locator('html')).to_have_attribute('lang', re.compile(r'^en'))
    page.get_by_role('button', name=re.compile(r'^Language')).click()
    page.get_by_text('Deutsch', exact=True).click()
    expect(page.locator('html')).to_have_attribute('lang', re.compile(r'^de'))
    expect(page.get_by_text('Willkommen, Admin')).to_be_visible()
    expect(page.get_by_role('button', name='Zum Inhalt springen')).to_have_count(0)  # a link, not a button
    expect(page.get_by_role('link', name='Zum Inhalt springen')).to_have_count(1)

    english = english_texts_with_a_german_translation()
    untranslated: list[str] = []
    for path in MAIN_PAGES:
        page.goto(live_app.url + path)
        settle(page)
        assert page.evaluate('() => document.documentElement.lang').startswith('de'), path
        untranslated += [f'{path}: {line!r}' for line in visible_lines(page) if line in english - DATA]
    assert not untranslated, f'{len(untranslated)} English texts on German pages:\n' + '\n'.join(untranslated)


def test_a_german_browser_sees_the_sign_in_page_in_german(live_app: LiveApp, browser: Browser) -> None:
    page = german_context_page(browser, 'de-DE')
    try:
        page.goto(f'{live_app.url}/login')
        expect(page.locator('html')).to_have_attribute('lang', re.compile(r'^de'))
        expect(page.get_by_role('button', name='Anmelden', exact=True)).to_be_visible()
        expect(page.get_by_label('Passwort', exact=True)).to_be_visible()
        expect(page.get_by_role('button', name=re.compile(r'^Sprache: Deutsch'))).to_be_visible()
        page.goto(f'{live_app.url}/signup')
        expect(page.get_by_role('button', name='Konto erstellen')).to_be_visible()
    finally:
        page.context.close()


def test_a_service_message_with_values_reaches_a_german_page_in_german(live_app: LiveApp, browser: Browser) -> None:
    """The service refuses a short password with a sentence that has the length in it (a template with values):
    the German page shows the German sentence with the same number, not the English one."""
    page = german_context_page(browser, 'de-DE')
    try:
        page.goto(f'{live_app.url}/signup')
        page.get_by_label('Anzeigename').fill('Greta')
        page.get_by_label('E-Mail').fill('greta@example.org')
        page.get_by_label('Passwort', exact=True).fill('kurz1')
        page.get_by_label('Passwort wiederholen').fill('kurz1')
        page.get_by_role('button', name='Konto erstellen').click()
        alert = page.get_by_role('alert')  # the refusal (the hint above the field says the rule before it)
        expect(alert).to_have_text(re.compile(r'Das Passwort muss mindestens \d+ Zeichen lang sein'))
        expect(page.get_by_text(re.compile('Password must be at least'))).to_have_count(0)
    finally:
        page.context.close()


def test_the_sign_in_pages_offer_a_language_kept_in_the_browser(live_app: LiveApp, new_page) -> None:
    page = new_page()
    page.goto(f'{live_app.url}/login')
    expect(page.locator('html')).to_have_attribute('lang', re.compile(r'^en'))
    page.get_by_role('button', name=re.compile(r'^Language: English')).click()
    page.get_by_text('Deutsch', exact=True).click()
    expect(page.get_by_role('button', name='Anmelden', exact=True)).to_be_visible()
    expect(page.locator('html')).to_have_attribute('lang', re.compile(r'^de'))
    page.goto(f'{live_app.url}/signup')  # kept for this browser
    expect(page.get_by_role('button', name='Konto erstellen')).to_be_visible()


def test_the_choice_follows_the_account_and_dates_follow_the_language(
    live_app: LiveApp, signed_in_page, browser: Browser
) -> None:
    page = signed_in_page('admin')
    page.goto(f'{live_app.url}/playground?model=llama3.2:latest')  # a chat: the home page lists it with its time
    box = page.get_by_placeholder('Your message (Ctrl+Enter sends)')
    box.fill('hello there')
    box.press('Control+Enter')
    expect(page.get_by_text('You said: hello there.')).to_be_visible()
    page.goto(f'{live_app.url}/')
    page.get_by_role('button', name=re.compile(r'^Language')).click()
    page.get_by_text('Deutsch', exact=True).click()
    expect(page.get_by_text('Willkommen, Admin')).to_be_visible()

    other = german_context_page(browser, 'en-GB')  # another browser, English by its settings
    try:
        other.goto(f'{live_app.url}/login')
        expect(other.get_by_role('button', name='Sign in', exact=True)).to_be_visible()  # nobody signed in yet
        sign_in(other, live_app, 'admin@example.org')
        expect(other.get_by_text('Willkommen, Admin')).to_be_visible()
        expect(other.locator('html')).to_have_attribute('lang', re.compile(r'^de'))
        # the home page lists recent activity with its date and time, in German: 04.12.2026, 14:05
        expect(other.get_by_text('Ihre letzten Aktivitäten')).to_be_visible()
        expect(other.get_by_text(GERMAN_DATE_TIME).first).to_be_visible()
        expect(other.get_by_text('Chat', exact=True).first).to_be_visible()  # the action `chat`, as German names it

        # back to English in the header: that, too, is kept with the account
        other.get_by_role('button', name=re.compile(r'^Sprache')).click()
        other.get_by_text('English', exact=True).click()
        expect(other.get_by_text('Welcome, Admin')).to_be_visible()
        page.reload()
        expect(page.get_by_text('Welcome, Admin')).to_be_visible()
        expect(page.get_by_text(re.compile(r'^\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}$')).first).to_be_visible()
    finally:
        other.context.close()
