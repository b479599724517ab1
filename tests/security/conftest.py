"""Security tests attack the running app through the REST API and the services; they reuse the API tests' fixtures
(an in-process app with its own data directory and the Ollama test server, accounts with personal tokens). Browser
attacks use the e2e harness (the app as a real server process, Chromium): its fixtures are registered here once, so
all modules share one browser."""

from tests.api.conftest import _api_env, account, admin, alice, bob, client, instructor, services
from tests.e2e.conftest import browser, live_app, new_page, ollama, page

__all__ = [
    '_api_env',
    'account',
    'admin',
    'alice',
    'bob',
    'browser',
    'client',
    'instructor',
    'live_app',
    'new_page',
    'ollama',
    'page',
    'services',
]
