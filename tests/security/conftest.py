"""Security tests attack the running app through the REST API and the services; they reuse the API tests' fixtures
(an in-process app with its own data directory and the Ollama test server, accounts with personal tokens)."""

from tests.api.conftest import _api_env, account, admin, alice, bob, client, instructor, services

__all__ = ['_api_env', 'account', 'admin', 'alice', 'bob', 'client', 'instructor', 'services']
