"""Single sign-on: turn a verified identity from an OAuth/OIDC provider into a local account.

An identity (provider + subject) is linked to one account. A first sign-in links to an existing account only by a
*verified* email address; an unverified email is refused. Roles can be mapped from a claim (e.g. groups). Local
password accounts keep working.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from config import Settings
from models import ExternalIdentity, Role, User
from services.core import audit as audit_actions
from services.core.audit import AuditService
from services.core.auth import AuthService, UserInfo, normalise_email, validate_display_name
from services.core.errors import Conflict, InvalidInput, PermissionDenied
from services.core.i18n import N_

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class ExternalProfile:
    provider: str
    label: str
    subject: str
    email: str | None
    email_verified: bool
    name: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True, slots=True, frozen=True)
class Provider:
    name: str
    label: str


def configured_providers(settings: Settings) -> list[Provider]:
    """The single sign-on providers configured in the environment (buttons on /login)."""
    providers = []
    if settings.oidc_discovery_url and settings.oidc_client_id:
        providers.append(Provider(name='oidc', label=settings.oidc_name))
    if settings.github_client_id and settings.github_client_secret:
        providers.append(Provider(name='github', label='GitHub'))
    return providers


def parse_role_map(text: str) -> dict[str, Role]:
    """'platform-admins=admin, teachers=instructor' -> {'platform-admins': Role.ADMIN, ...}."""
    mapping: dict[str, Role] = {}
    for part in (text or '').split(','):
        if '=' not in part:
            continue
        value, role = (x.strip() for x in part.split('=', 1))
        if value and role in {r.value for r in Role}:
            mapping[value] = Role(role)
    return mapping


class SSOService:
    def __init__(
        self,
        auth: AuthService,
        audit: AuditService,
        *,
        role_claim: str = '',
        role_map: dict[str, Role] | None = None,
        create_accounts: bool = True,
        first_user_admin: bool = False,
    ) -> None:
        self.auth = auth
        self.audit = audit
        self.role_claim = role_claim
        self.role_map = role_map or {}
        self.create_accounts = create_accounts
        self.first_user_admin = first_user_admin  # the first account of a new platform may come from SSO as admin

    def mapped_role(self, claims: dict[str, Any]) -> Role | None:
        """The highest role any value of the role claim maps to, or None."""
        if not self.role_claim or not self.role_map:
            return None
        values = claims.get(self.role_claim)
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            return None
        roles = [self.role_map[v] for v in values if isinstance(v, str) and v in self.role_map]
        return max(roles, key=lambda r: r.rank) if roles else None

    async def _refuse(self, profile: ExternalProfile, ip: str, reason: str, message: str) -> PermissionDenied:
        await self.audit.record(
            None,
            audit_actions.SSO_REFUSED,
            outcome='refused',
            target=profile.email or profile.subject,
            ip=ip,
            provider=profile.provider,
            reason=reason,
        )
        return PermissionDenied(message)

    async def sign_in(self, profile: ExternalProfile, ip: str = '') -> UserInfo:
        identity = await ExternalIdentity.get_or_none(provider=profile.provider, subject=profile.subject)
        role = self.mapped_role(profile.claims)
        if identity is not None:
            user = await User.get(id=identity.user_id)  # type: ignore[attr-defined]
        else:
            email = normalise_email(profile.email or '')
            if not email:
                raise await self._refuse(
                    profile,
                    ip,
                    'no_email',
                    (
                        N_(
                            '{label} did not tell us your email address. Allow access to your email there and try '
                            'again.',
                            label=profile.label,
                        )
                    ),
                )
            if not profile.email_verified:
                raise await self._refuse(
                    profile,
                    ip,
                    'unverified_email',
                    (
                        N_(
                            '{label} says your email address {email} is not verified, so it cannot be linked to an '
                            'account here. Verify it at {label}, then sign in again — or sign in with your '
                            'password.',
                            label=profile.label,
                            email=email,
                        )
                    ),
                )
            user = await User.get_or_none(email=email)
            if user is None:
                if not self.create_accounts:
                    raise await self._refuse(
                        profile,
                        ip,
                        'no_account',
                        (
                            N_(
                                'There is no account for {email} on this platform. Ask an admin to create one.',
                                email=email,
                            )
                        ),
                    )
                first_run = not await User.exists()
                if not first_run and not await self.auth.signup_open():
                    raise await self._refuse(
                        profile,
                        ip,
                        'signup_closed',
                        (
                            N_(
                                'Sign-up is closed on this platform, so no account was made for {email}. Ask an admin '
                                'to create one, then sign in with {label} again.',
                                email=email,
                                label=profile.label,
                            )
                        ),
                    )
                try:
                    name = validate_display_name(profile.name or email.split('@')[0])
                except InvalidInput:
                    name = email.split('@')[0][:80]
                try:
                    # the first account becomes admin only when the admin chose that (SSO_FIRST_USER_ADMIN); else make
                    # the first admin with `python manage.py create-admin`
                    info = await self.auth._create(
                        email, name, None, role or Role.ATTENDEE, may_bootstrap=first_run and self.first_user_admin
                    )
                except Conflict:
                    info = None
                user = await User.get(email=email) if info is None else await User.get(id=info.id)
            try:
                identity = await ExternalIdentity.create(
                    user_id=user.id, provider=profile.provider, subject=profile.subject, email=email
                )
            except IntegrityError:
                identity = await ExternalIdentity.get(provider=profile.provider, subject=profile.subject)
        if not user.is_active:
            raise await self._refuse(
                profile, ip, 'inactive', ('This account has been deactivated. Ask an admin to reactivate it.')
            )
        if role is not None and role != user.role:
            await self._apply_role(user, role, profile)
        now = datetime.now(UTC)
        identity.last_login_at = now
        await identity.save(update_fields=['last_login_at'])
        user.last_login_at = now
        await user.save(update_fields=['last_login_at'])
        await self.audit.record(user.id, audit_actions.SSO_SIGN_IN, target=user.email, ip=ip, provider=profile.provider)
        info = await self.auth.get_user(user.id)
        assert info is not None
        return info

    async def _apply_role(self, user: User, role: Role, profile: ExternalProfile) -> None:
        if user.role == Role.ADMIN and await User.filter(role=Role.ADMIN, is_active=True).count() <= 1:
            log.warning('role claim would demote the last admin %s: ignored', user.id)
            return
        previous = user.role
        user.role = role
        await user.save(update_fields=['role', 'updated_at'])
        self.auth.account_changed(user.id)
        await self.audit.record(
            None,
            audit_actions.ROLE_CHANGE,
            target=user.email,
            user=user.id,
            old=str(previous),
            new=role.value,
            via=f'{profile.provider} role claim',
        )
