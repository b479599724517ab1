"""Security tests drive the app as the API tests do: in-process, through httpx's ASGI transport, with the accounts
(an admin, an instructor, attendees) and the Ollama test server of tests/api/conftest.py."""

from tests.api.conftest import _api_env, account, admin, alice, bob, client, instructor, services  # noqa: F401
