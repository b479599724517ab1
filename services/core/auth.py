"""Accounts, sign-in and roles. Every permission check re-reads the user from the database."""

from __future__ import annotations

import asyncio
import logging
import posixpath
import re
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import AppSetting, Role, User
from services.core import sessions
from services.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied, Throttled
from services.core.i18n import LANGUAGES, N_
from services.core.passwords import ahash_password, averify_password, needs_rehash
from services.core.throttles import Backoff, wait_sentence

log = logging.getLogger(__name__)
# the rule a new password must meet, as sign-up and the admin's forms show it (a page translates it: `_(PASSWORD_RULE,
# length=...)`)
PASSWORD_RULE = N_('Password must be at least {length} characters and contain a letter and a digit.')

__all__ = ['AuthService', 'Role', 'UserInfo']

EMAIL_RE = re.compile(r'^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$')
SIGNUP_OPEN = 'signup_open'
BOOTSTRAP_ADMIN = 'bootstrap_admin'


@dataclass(kw_only=True, slots=True, frozen=True)
class UserInfo:
    id: int
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
    language: str = ''  # the UI language they chose ('' = their browser's)

    def at_least(self, role: Role) -> bool:
        return self.role.rank >= role.rank


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=Role(user.role),
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        language=user.language,
    )


def active_info(user: User | None) -> UserInfo | None:
    """The user as the services see them, or None when there is no such user or they are deactivated."""
    info = _info(user) if user is not None and user.is_active else None
    seen = _seen_in_request.get()
    if seen is not None and seen.open and user is not None:
        seen[user.id] = (info, time.monotonic())
    return info


def seen_in_request(info: UserInfo) -> None:
    """A user known to be active this moment (a checked API token): the services of this request need not read
    them again."""
    seen = _seen_in_request.get()
    if seen is not None and seen.open:
        seen[info.id] = (info, time.monotonic())


class _UsersSeen(dict):
    """The users read from the database during one HTTP request, each with when it was read."""

    open = True
    FRESH_SECONDS = 1.0  # a long request (a stream) reads its user again after this

    def get_fresh(self, user_id: int) -> tuple[bool, UserInfo | None]:
        if not self.open or user_id not in self:
            return False, None
        info, at = self[user_id]
        return time.monotonic() - at < self.FRESH_SECONDS, info


# Set by `UsersReadOncePerRequest`: a request authenticated by a token does not read its user again when a service
# checks them a moment later (the path of every API call's first token). Nothing outlives the request — tasks it
# started see the memo closed — and nothing is older than a second, so a role change or a deactivation is seen by the
# next request on every process.
_seen_in_request: ContextVar[_UsersSeen | None] = ContextVar('users_seen_in_request', default=None)


class UsersReadOncePerRequest:
    """Pure ASGI middleware: a fresh memo of users for each HTTP request (see `_seen_in_request`)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        seen = _UsersSeen()
        token = _seen_in_request.set(seen)
        try:
            await self.app(scope, receive, send)
        finally:
            seen.open = False
            seen.clear()
            _seen_in_request.reset(token)


def normalise_email(email: str) -> str:
    return (email or '').strip().lower()


def validate_email(email: str) -> str:
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise InvalidInput(N_('Please enter a valid email address, like ada@example.org.'))
    return email


def validate_display_name(name: str) -> str:
    name = ' '.join((name or '').split())
    if not 1 <= len(name) <= 80:
        raise InvalidInput(N_('Display name must be between 1 and 80 characters.'))
    return name


# what may appear in a same-site path (RFC 3986 unreserved, reserved and percent signs): no spaces, no controls, no
# backslashes, no non-ASCII look-alikes
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?#%\[\]]*")


def safe_next(target: str | None) -> str:
    """Where a sign-in may lead: a same-origin relative path, normalised, or '/' (threat T19, open redirect).

    The one check for every sign-in path (password, single sign-on, join). Browsers strip tabs and newlines from
    URLs and read a backslash as a slash, so `/\t/evil.example` and `/\\evil.example` would become `//evil.example`;
    anything with a control character, a backslash, a scheme, a host or a leading `//` — also after percent-decoding
    — is refused."""
    if not isinstance(target, str) or not target or len(target) > 2000:
        return '/'
    decoded = target
    for _ in range(3):  # also what a double-encoded target turns into
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in decoded) or '\\' in decoded:
            return '/'
        decoded = unquote(decoded)
    if not _PATH_CHARS.fullmatch(target) or not target.startswith('/') or target.startswith('//'):
        return '/'
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return '/'
    path = posixpath.normpath(parts.path) if parts.path else '/'
    if parts.path.endswith('/') and path != '/':
        path += '/'
    if not path.startswith('/') or path.startswith('//'):
        return '/'
    return urlunsplit(('', '', path, parts.query, parts.fragment))


AuditHook = Callable[..., Awaitable[None]]


class AuthService:
    def __init__(
        self,
        *,
        min_password_length: int,
        max_failures: int,
        window_seconds: int,
        signup_open_default: bool,
        audit_hook: AuditHook | None = None,
        account_max_failures: int | None = None,
        source_max_failures: int | None = None,
    ) -> None:
        self.min_password_length = min_password_length
        self.signup_open_default = signup_open_default
        # wrong passwords slow down who makes them: per (address, account) first, so the owner signing in from
        # elsewhere is not slowed by a stranger's guesses; per account over all addresses (distributed guessing);
        # per address over all accounts (spraying), with a budget a classroom behind one NAT address fits in
        self.pair_throttle = Backoff(max_failures, window_seconds)
        self.account_throttle = Backoff(account_max_failures or max_failures * 10, window_seconds)
        self.address_throttle = Backoff(source_max_failures or max_failures * 20, window_seconds)
        self._signup_lock = asyncio.Lock()
        # `await audit_hook(user_id, action, outcome=..., target=..., ip=..., **details)`: the audit log's writer
        self.audit_hook = audit_hook
        # told the id of an account whose role, activity or password changed (caches of what it may do drop it)
        self.on_account_change: list[Callable[[int], None]] = []

    def account_changed(self, user_id: int) -> None:
        for hook in self.on_account_change:
            hook(user_id)

    async def audit(self, user_id: int | None, action: str, **kwargs: Any) -> None:
        if self.audit_hook is not None:
            await self.audit_hook(user_id, action, **kwargs)

    # ----- rules -------------------------------------------------------------------------------------------------
    @property
    def password_rule(self) -> str:
        return N_(PASSWORD_RULE, length=self.min_password_length)

    def validate_password(self, password: str) -> str:
        password = password or ''
        if (
            len(password) < self.min_password_length
            or len(password) > 1024
            or not re.search(r'[A-Za-z]', password)
            or not re.search(r'\d', password)
        ):
            raise InvalidInput(self.password_rule)
        return password

    # ----- sign-up and sign-in -----------------------------------------------------------------------------------
    async def signup(self, email: str, display_name: str, password: str) -> UserInfo:
        email = validate_email(email)
        display_name = validate_display_name(display_name)
        self.validate_password(password)
        first = not await User.exists()
        if not first and not await self.signup_open():
            raise PermissionDenied(N_('Sign-up is closed on this platform. Ask an admin or instructor for an account.'))
        return await self._create(email, display_name, password, Role.ATTENDEE, may_bootstrap=True)

    async def _create(
        self, email: str, display_name: str, password: str | None, role: Role, *, may_bootstrap: bool
    ) -> UserInfo:
        if await User.exists(email=email):
            raise Conflict(N_('An account with this email already exists. Sign in instead.'))
        password_hash = await ahash_password(password) if password else None
        async with self._signup_lock:
            try:
                async with in_transaction():
                    if may_bootstrap and await self._claim_bootstrap_admin(email):
                        role = Role.ADMIN
                    user = await User.create(
                        email=email, display_name=display_name, password_hash=password_hash, role=role
                    )
            except IntegrityError as exc:
                raise Conflict(N_('An account with this email already exists. Sign in instead.')) from exc
        log.info('created account %s (%s)', user.id, role.value)
        return _info(user)

    @staticmethod
    async def _claim_bootstrap_admin(email: str) -> bool:
        """The first account becomes admin: a unique row decides, so concurrent sign-ups yield exactly one admin."""
        if await User.filter(role=Role.ADMIN).exists():
            return False
        if await AppSetting.exists(key=BOOTSTRAP_ADMIN):
            return False
        try:
            async with in_transaction():
                await AppSetting.create(key=BOOTSTRAP_ADMIN, value={'email': email})
        except IntegrityError:
            return False
        return True

    async def login(self, email: str, password: str, client_address: str = '') -> UserInfo:
        email = normalise_email(email)
        pair_key = f'{client_address}|{email}'
        wait = max(
            self.pair_throttle.retry_after(pair_key),
            self.account_throttle.retry_after(email),
            self.address_throttle.retry_after(client_address),
        )
        if wait:
            log.warning('login throttled for %s from %s', email, client_address)
            await self.audit(
                None, 'sign_in_failed', outcome='refused', target=email, ip=client_address, reason='throttled'
            )
            raise Throttled(wait_sentence(N_('Too many failed sign-in attempts.'), wait), wait)
        user = await User.get_or_none(email=email)
        if user is None or not await averify_password(user.password_hash, password or ''):
            self.pair_throttle.fail(pair_key)
            self.account_throttle.fail(email)
            self.address_throttle.fail(client_address)
            log.warning('failed login for %s from %s', email, client_address)
            await self.audit(
                user.id if user else None, 'sign_in_failed', outcome='failed', target=email, ip=client_address
            )
            raise NotAuthenticated(N_('Wrong email or password.'))
        if not user.is_active:
            await self.audit(user.id, 'sign_in_failed', outcome='refused', target=email, ip=client_address)
            raise PermissionDenied(N_('This account has been deactivated. Ask an admin to reactivate it.'))
        self.pair_throttle.clear(pair_key)
        user.last_login_at = datetime.now(UTC)
        update = ['last_login_at']
        if needs_rehash(user.password_hash or ''):
            user.password_hash = await ahash_password(password)
            update.append('password_hash')
        await user.save(update_fields=update)
        await self.audit(user.id, 'sign_in', target=email, ip=client_address, method='password')
        return _info(user)

    # ----- who is asking ---------------------------------------------------------------------------------------
    async def get_user(self, user_id: int | None) -> UserInfo | None:
        """The active user with this id, read fresh from the database."""
        if not user_id:
            return None
        seen = _seen_in_request.get()
        if seen is not None:
            fresh, info = seen.get_fresh(user_id)
            if fresh:
                return info
        return active_info(await User.get_or_none(id=user_id))

    async def require(self, user_id: int | None, role: Role = Role.ATTENDEE) -> UserInfo:
        """The acting user, refreshed from the database; raises unless active and at least `role`."""
        user = await self.get_user(user_id)
        if user is None:
            raise NotAuthenticated()
        if not user.at_least(role):
            log.warning('user %s (%s) refused: needs %s', user.id, user.role.value, role.value)
            error = PermissionDenied(
                N_(
                    'This needs the {needed} role; you are signed in as {role}.',
                    needed=role.value,
                    role=user.role.value,
                )
            )
            await self.audit(
                user.id,
                'permission_denied',
                outcome='refused',
                needed=role.value,
                role=user.role.value,
                operation=_caller(),
            )
            error.audited = True  # the API's error mapping must not log it a second time
            raise error
        return user

    # ----- settings ----------------------------------------------------------------------------------------------
    async def signup_open(self) -> bool:
        setting = await AppSetting.get_or_none(key=SIGNUP_OPEN)
        return self.signup_open_default if setting is None else bool(setting.value)

    async def set_signup_open(self, actor_id: int, is_open: bool) -> None:
        await self.require(actor_id, Role.ADMIN)
        await AppSetting.update_or_create(defaults={'value': bool(is_open)}, key=SIGNUP_OPEN)

    # ----- administration ----------------------------------------------------------------------------------------
    async def list_users(self, actor_id: int, search: str = '') -> list[UserInfo]:
        await self.require(actor_id, Role.ADMIN)
        query = User.all().order_by('id')
        if search:
            term = search.strip()
            query = query.filter(Q(email__icontains=term) | Q(display_name__icontains=term))
        return [_info(u) for u in await query]

    async def create_user(
        self, actor_id: int, email: str, display_name: str, password: str, role: Role = Role.ATTENDEE
    ) -> UserInfo:
        await self.require(actor_id, Role.ADMIN)
        email = validate_email(email)
        display_name = validate_display_name(display_name)
        self.validate_password(password)
        return await self._create(email, display_name, password, Role(role), may_bootstrap=False)

    async def _target(self, user_id: int) -> User:
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound(N_('No such user.'))
        seen = _seen_in_request.get()
        if seen is not None:
            seen.clear()  # about to change a user: this request reads them afresh from here on
        return user

    async def _ensure_not_last_admin(self, user: User) -> None:
        if user.role == Role.ADMIN and await User.filter(role=Role.ADMIN, is_active=True).count() <= 1:
            raise Conflict(N_('This is the last active admin. Make someone else an admin first.'))

    async def set_language(self, user_id: int, language: str) -> None:
        """The UI language a person chose for themselves ('' = their browser's), kept with the account so that it
        follows them to another device."""
        if language and language not in LANGUAGES:
            raise InvalidInput(
                N_(
                    'Unknown language {language!r}: choose one of {LANGUAGES}.',
                    language=language,
                    LANGUAGES=', '.join(LANGUAGES),
                )
            )
        await self.require(user_id)
        user = await self._target(user_id)
        user.language = language
        await user.save(update_fields=['language', 'updated_at'])

    async def set_role(self, actor_id: int, user_id: int, role: Role) -> UserInfo:
        await self.require(actor_id, Role.ADMIN)
        role = Role(role)
        user = await self._target(user_id)
        if role != Role.ADMIN:
            await self._ensure_not_last_admin(user)
        previous = user.role
        user.role = role
        await user.save(update_fields=['role', 'updated_at'])
        await self.audit(actor_id, 'role_change', target=user.email, user=user.id, old=str(previous), new=role.value)
        sessions.end_for_user(user.id, rotate=True)  # a new role comes with a new session id
        self.account_changed(user.id)
        log.info('user %s role set to %s by %s', user_id, role.value, actor_id)
        return _info(user)

    async def set_active(self, actor_id: int, user_id: int, active: bool) -> UserInfo:
        await self.require(actor_id, Role.ADMIN)
        user = await self._target(user_id)
        if not active and user.id == actor_id:
            raise Conflict(N_('You cannot deactivate your own account.'))
        return await self._set_active(user, active, actor_id=actor_id)

    async def _set_active(self, user: User, active: bool, *, actor_id: int | None, via: str = 'admin') -> UserInfo:
        if not active:
            await self._ensure_not_last_admin(user)
        user.is_active = bool(active)
        await user.save(update_fields=['is_active', 'updated_at'])
        await self.audit(actor_id, 'user_active', target=user.email, user=user.id, active=user.is_active, via=via)
        if not user.is_active:
            sessions.end_for_user(user.id)
        self.account_changed(user.id)
        return _info(user)

    async def reset_password(self, actor_id: int, user_id: int, new_password: str) -> None:
        await self.require(actor_id, Role.ADMIN)
        self.validate_password(new_password)
        await self._reset_password(await self._target(user_id), new_password, actor_id=actor_id)

    async def _reset_password(self, user: User, new_password: str, *, actor_id: int | None, via: str = 'admin') -> None:
        user.password_hash = await ahash_password(new_password)
        await user.save(update_fields=['password_hash', 'updated_at'])
        await self.audit(actor_id, 'password_reset', target=user.email, user=user.id, via=via)
        sessions.end_for_user(user.id)  # whoever knew the old password is signed out everywhere
        self.account_changed(user.id)

    # ----- the admin command line (someone with a shell on the server: manage.py) -----------------------------------
    async def console_create_admin(self, email: str, display_name: str, password: str) -> UserInfo:
        """An admin account; on a platform without accounts it is the first admin (for scripted installs)."""
        email = validate_email(email)
        display_name = validate_display_name(display_name)
        self.validate_password(password)
        user = await self._create(email, display_name, password, Role.ADMIN, may_bootstrap=True)
        await self.audit(None, 'user_created', target=user.email, user=user.id, role=user.role.value, via='console')
        return user

    async def console_user(self, email: str) -> User:
        user = await User.get_or_none(email=normalise_email(email))
        if user is None:
            raise NotFound(N_('There is no account with the email {email}.', email=normalise_email(email)))
        return user

    async def console_reset_password(self, email: str, new_password: str) -> None:
        self.validate_password(new_password)
        await self._reset_password(await self.console_user(email), new_password, actor_id=None, via='console')

    async def console_set_active(self, email: str, active: bool) -> UserInfo:
        return await self._set_active(await self.console_user(email), active, actor_id=None, via='console')

    async def console_users(self) -> list[UserInfo]:
        return [_info(u) for u in await User.all().order_by('id')]

    async def change_own_password(self, actor_id: int, current: str, new_password: str) -> None:
        user = await User.get_or_none(id=actor_id, is_active=True)
        if user is None:
            raise NotAuthenticated()
        if not await averify_password(user.password_hash, current or ''):
            raise InvalidInput(N_('Your current password is not correct.'))
        self.validate_password(new_password)
        user.password_hash = await ahash_password(new_password)
        await user.save(update_fields=['password_hash', 'updated_at'])


def _caller() -> str:
    """The name of the service method that called `require` (for the audit log)."""
    frame = sys._getframe(2)
    return frame.f_code.co_name if frame else ''
