"""A small OpenID Connect (and GitHub-style OAuth) provider for tests: a stdlib HTTP server, joserfc signing.

It serves a discovery document, a JWKS with one RSA key, an authorize endpoint that "signs in" `next_user` at once
and redirects back with a one-time code, and a token endpoint that checks the client secret, the redirect URI and
the PKCE verifier (S256) and issues an RS256-signed ID token carrying the nonce. A code can be used once; a second
use answers `invalid_grant`, like a real provider.

    with OidcProvider(client_id='platform', client_secret='s3cret') as idp:
        idp.next_user = {'sub': '42', 'email': 'ada@example.org', 'email_verified': True, 'name': 'Ada'}
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey


class OidcProvider:
    def __init__(self, *, client_id: str = 'platform', client_secret: str = 'test-client-secret') -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = RSAKey.generate_key(2048, parameters={'kid': 'test-key', 'use': 'sig', 'alg': 'RS256'})
        self.next_user: dict[str, Any] = {'sub': 'user-1', 'email': 'ada@example.org', 'email_verified': True}
        self.codes: dict[str, dict[str, Any]] = {}
        self.used_codes: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.authorize_requests: list[dict[str, str]] = []
        self.access_tokens: dict[str, dict[str, Any]] = {}  # access token -> user (for the GitHub-style API)
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f'http://{host}:{port}'

    @property
    def discovery_url(self) -> str:
        return f'{self.url}/.well-known/openid-configuration'

    def start(self) -> OidcProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- protocol ----------------------------------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        return {
            'issuer': self.url,
            'authorization_endpoint': f'{self.url}/authorize',
            'token_endpoint': f'{self.url}/token',
            'jwks_uri': f'{self.url}/jwks',
            'userinfo_endpoint': f'{self.url}/userinfo',
            'response_types_supported': ['code'],
            'subject_types_supported': ['public'],
            'id_token_signing_alg_values_supported': ['RS256'],
            'code_challenge_methods_supported': ['S256'],
            'token_endpoint_auth_methods_supported': ['client_secret_basic', 'client_secret_post'],
            'scopes_supported': ['openid', 'email', 'profile'],
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        self.authorize_requests.append(query)
        if query.get('client_id') != self.client_id or query.get('response_type') != 'code':
            return 400, {}
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            'redirect_uri': query.get('redirect_uri', ''),
            'nonce': query.get('nonce'),
            'challenge': query.get('code_challenge'),
            'method': query.get('code_challenge_method'),
            'user': dict(self.next_user),
        }
        target = f'{query["redirect_uri"]}?{urlencode({"code": code, "state": query.get("state", "")})}'
        return 302, {'Location': target}

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        client_id, secret = form.get('client_id'), form.get('client_secret')
        if authorization.startswith('Basic '):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(':')
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {'error': 'invalid_client'}
        code = form.get('code', '')
        if code in self.used_codes or code not in self.codes:
            return 400, {'error': 'invalid_grant', 'error_description': 'the code is invalid or was already used'}
        grant = self.codes.pop(code)
        self.used_codes.add(code)
        if form.get('redirect_uri') != grant['redirect_uri']:
            return 400, {'error': 'invalid_grant', 'error_description': 'redirect_uri mismatch'}
        verifier = form.get('code_verifier', '')
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
        if grant['method'] != 'S256' or digest != grant['challenge']:
            return 400, {'error': 'invalid_grant', 'error_description': 'PKCE verification failed'}
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = grant['user']
        now = int(time.time())
        claims = {'iss': self.url, 'aud': self.client_id, 'iat': now, 'exp': now + 300, **grant['user']}
        if grant['nonce']:
            claims['nonce'] = grant['nonce']
        id_token = jwt.encode({'alg': 'RS256', 'kid': 'test-key'}, claims, self.key)
        body = {'access_token': access_token, 'token_type': 'Bearer', 'expires_in': 300}
        if grant['nonce']:  # an OpenID Connect request (GitHub-style OAuth gets no ID token)
            body['id_token'] = id_token
        return 200, body

    def github_api(self, path: str, authorization: str) -> tuple[int, Any]:
        """GitHub's /user and /user/emails for the user an access token was issued to."""
        user = self.access_tokens.get(authorization.removeprefix('Bearer ').removeprefix('token '))
        if user is None:
            return 401, {'message': 'Bad credentials'}
        if path == '/user':
            return 200, {'id': int(user['sub']), 'login': user.get('name', 'octocat'), 'name': user.get('name')}
        return 200, [{'email': user['email'], 'primary': True, 'verified': bool(user.get('email_verified'))}]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == '/.well-known/openid-configuration':
                    self._json(200, provider.discovery())
                elif parts.path == '/jwks':
                    self._json(200, {'keys': [provider.key.as_dict(private=False)]})
                elif parts.path in ('/user', '/user/emails'):
                    status, body = provider.github_api(parts.path, self.headers.get('Authorization', ''))
                    self._json(status, body)
                elif parts.path in ('/authorize', '/login/oauth/authorize'):
                    status, headers = provider.authorize(query)
                    self._json(status, {}, headers)
                else:
                    self._json(404, {'error': 'not_found'})

            def do_POST(self) -> None:
                length = int(self.headers.get('Content-Length') or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path in ('/token', '/login/oauth/access_token'):
                    status, body = provider.token(form, self.headers.get('Authorization', ''))
                    self._json(status, body)
                else:
                    self._json(404, {'error': 'not_found'})

        return Handler
