"""Browser sign-in with OAuth/OIDC providers under /auth/<provider>/login and /auth/<provider>/callback.

authlib's Starlette client does the protocol: state and nonce kept in the signed session cookie, PKCE (S256), ID
token signature (JWKS), issuer, audience and nonce checks. The account decisions (link by verified email, role
mapping) are made by services.sso.SSOService. Configured from the environment (see config.py: OIDC_*, GITHUB_*).
"""

from __future__ import annotations

import logging

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from nicegui import app

from config import Settings
from services.core import audit as audit_actions
from services.core import sessions
from services.core.auth import safe_next
from services.core.client_address import client_address
from services.core.errors import ServiceError
from services.core.sso import ExternalProfile, configured_providers
from services.wiring import Services

log = logging.getLogger(__name__)


def build_oauth(settings: Settings) -> OAuth:
    oauth = OAuth()
    if settings.oidc_discovery_url and settings.oidc_client_id:
        oauth.register(
            name='oidc',
            server_metadata_url=settings.oidc_discovery_url,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret or None,
            client_kwargs={'scope': settings.oidc_scopes, 'code_challenge_method': 'S256'},
        )
    if settings.github_client_id and settings.github_client_secret:
        oauth.register(
            name='github',
            client_id=settings.github_client_id,
            client_secret=settings.github_client_secret,
            access_token_url=f'{settings.github_url.rstrip("/")}/login/oauth/access_token',
            authorize_url=f'{settings.github_url.rstrip("/")}/login/oauth/authorize',
            api_base_url=settings.github_api_url.rstrip('/') + '/',
            client_kwargs={'scope': 'read:user user:email', 'code_challenge_method': 'S256'},
        )
    return oauth


def create_router(services: Services) -> APIRouter:
    settings = services.settings
    oauth = build_oauth(settings)
    labels = {p.name: p.label for p in configured_providers(settings)}
    router = APIRouter(prefix='/auth', include_in_schema=False)

    def refuse(message: str) -> RedirectResponse:
        app.storage.user['login_error'] = message
        return RedirectResponse('/login', status_code=303)

    @router.get('/{provider}/login')
    async def login(request: Request, provider: str, next: str = '/'):
        client = oauth.create_client(provider) if provider in labels else None
        if client is None:
            return refuse('This sign-in method is not configured on this platform.')
        app.storage.user['sso_next'] = safe_next(next)
        base = settings.public_url.rstrip('/') if settings.public_url else str(request.base_url).rstrip('/')
        try:
            return await client.authorize_redirect(request, f'{base}/auth/{provider}/callback')
        except Exception as exc:  # discovery document unreachable, bad configuration
            log.warning('starting %s sign-in failed: %s', provider, exc)
            return refuse(
                f'{labels[provider]} cannot be reached right now. Try again later, or sign in with your password.'
            )

    @router.get('/{provider}/callback')
    async def callback(request: Request, provider: str):
        client = oauth.create_client(provider) if provider in labels else None
        if client is None:
            return refuse('This sign-in method is not configured on this platform.')
        label = labels[provider]
        ip = client_address(request)
        try:
            token = await client.authorize_access_token(request)
            profile = await _profile(provider, label, client, token)
        except OAuthError as exc:
            log.warning('%s sign-in refused: %s %s', provider, exc.error, exc.description)
            await services.audit.record(
                None,
                audit_actions.SSO_REFUSED,
                outcome='refused',
                ip=ip,
                provider=provider,
                reason=exc.error or 'oauth_error',
                description=(exc.description or '')[:200],
            )
            if exc.error == 'mismatching_state':
                return refuse(
                    f'The sign-in with {label} could not be verified (it was started in another browser '
                    'or already used). Start again from this page.'
                )
            return refuse(
                f'The sign-in with {label} did not complete ({exc.error or "error"}). Start again from this page.'
            )
        except Exception as exc:  # invalid ID token (signature, issuer, nonce), provider errors
            log.warning('%s sign-in failed: %s', provider, exc)
            await services.audit.record(
                None, audit_actions.SSO_REFUSED, outcome='refused', ip=ip, provider=provider, reason=type(exc).__name__
            )
            return refuse(f'The answer from {label} could not be verified. Start again from this page.')
        try:
            user = await services.sso.sign_in(profile, ip)
        except ServiceError as exc:
            return refuse(exc.message)
        target = safe_next(app.storage.user.pop('sso_next', '/'))
        app.storage.user.pop('login_error', None)
        await sessions.sign_in(request, user.id)  # a new browser id: no fixation
        return RedirectResponse(target, status_code=303)

    return router


async def _profile(provider: str, label: str, client, token: dict) -> ExternalProfile:
    if provider == 'github':
        me = (await client.get('user', token=token)).json()
        emails = (await client.get('user/emails', token=token)).json()
        primary = next((e for e in emails if isinstance(e, dict) and e.get('primary')), None) or {}
        return ExternalProfile(
            provider='github',
            label=label,
            subject=str(me['id']),
            email=primary.get('email'),
            email_verified=bool(primary.get('verified')),
            name=me.get('name') or me.get('login') or '',
            claims=me,
        )
    claims = dict(token.get('userinfo') or {})
    if not claims:
        raise OAuthError(error='missing_id_token', description='the provider sent no ID token')
    return ExternalProfile(
        provider=provider,
        label=label,
        subject=str(claims['sub']),
        email=claims.get('email'),
        email_verified=claims.get('email_verified') is True,
        name=claims.get('name') or '',
        claims=claims,
    )
