"""Personal API tokens: create (the secret is shown once), list, revoke, and authenticate bearer requests.

Only the SHA-256 hash of a secret is stored. A secret that checked out is believed for `KNOWN_SECONDS` without
re-reading the database (it is on the path of every API call), except that revoking a token and changing, deactivating
or resetting its account drop it at once on every app process; so a revoked or expired token, or the token of a
deactivated user, stops working at once, and the role is the one the user has now.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models import ApiToken
from services.core import audit as audit_actions
from services.core.audit import AuditService
from services.core.auth import AuthService, UserInfo, active_info, seen_in_request
from services.core.bus import LiveBus
from services.core.errors import InvalidInput, NotAuthenticated, NotFound
from services.core.i18n import N_

PREFIX = 'owp_'
SECRET_LENGTH = 40
ALPHABET = string.ascii_letters + string.digits
MAX_TOKENS_PER_USER = 50
MAX_EXPIRY_DAYS = 3650
KNOWN_SECONDS = 10.0  # a checked secret is believed this long without a database query (changes drop it at once)
KNOWN_MAX = 10_000  # checked secrets kept at most (then forgotten all at once)
TOUCH_SECONDS = 1.0  # "last used" times are written this long after the use, all of the moment in one query

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return N_('revoked')
        if self.expires_at is not None and self.expires_at <= now:
            return N_('expired')
        return N_('active')


@dataclass(kw_only=True, slots=True)
class NewToken:
    token: TokenInfo
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


@dataclass(kw_only=True, slots=True)
class _Known:
    """A bearer secret checked lately: who it is, until when it may be believed without asking the database."""

    user: UserInfo
    token_id: int
    expires_at: datetime | None
    last_used_at: datetime | None
    until: float  # time.monotonic()


class TokenService:
    """API tokens. A secret that checked out is believed for `KNOWN_SECONDS` without a database query (the check is
    on the path of every API call's first token); revoking a token, or changing, deactivating or resetting its
    account, drops it at once — in this process and, over the live bus, in every other."""

    def __init__(
        self,
        auth: AuthService,
        audit: AuditService,
        clock: Callable[[], datetime] | None = None,
        bus: LiveBus | None = None,
    ) -> None:
        self.auth = auth
        self.audit = audit
        self.clock = clock or (lambda: datetime.now(UTC))
        self._known: dict[str, _Known] = {}  # secret hash -> what it was found to be
        self._touched: dict[int, datetime] = {}  # token id -> when it was used, not yet written
        self._toucher: asyncio.Task | None = None
        self.bus = bus
        auth.on_account_change.append(self.forget_user)
        if bus is not None:
            bus.on('tokens_forget', lambda p: self._forget(p.get('user_id')))
            bus.on_gap(self._known.clear)

    def forget_user(self, user_id: int) -> None:
        """Stop believing the checked secrets of this account (here and on every other process)."""
        self._forget(user_id)
        if self.bus is not None:
            self.bus.publish('tokens_forget', user_id=user_id)

    def _forget(self, user_id: int | None) -> None:
        for key in [k for k, known in self._known.items() if known.user.id == user_id]:
            self._known.pop(key, None)

    def _touch(self, token_id: int, when: datetime) -> None:
        """Remember that a token was used; written in the background, the uses of the moment in one UPDATE. Awaited
        here it was a write on the path of every model call's first token: when a room sends at once (50 fresh
        tokens), 50 writes queued on SQLite's one connection ahead of the reads the next calls wait for."""
        self._touched[token_id] = when
        if self._toucher is None or self._toucher.done():
            self._toucher = asyncio.create_task(self._write_touches(TOUCH_SECONDS), name='tokens-last-used')

    async def _write_touches(self, delay: float = 0.0) -> None:
        await asyncio.sleep(delay)
        while self._touched:
            touched, self._touched = self._touched, {}
            try:  # one timestamp for the batch: they are at most `delay` apart, and shown as "a minute ago"
                await ApiToken.filter(id__in=list(touched)).update(last_used_at=max(touched.values()))
            except asyncio.CancelledError:  # cut off (shutdown): the next flush writes them
                self._touched = {**touched, **self._touched}
                raise
            except Exception:  # a "last used" time is not worth failing anything for
                log.warning('recording when %d API token(s) were last used failed', len(touched), exc_info=True)

    async def flush(self) -> None:
        """Write the "last used" times still waiting (shutdown)."""
        toucher, self._toucher = self._toucher, None
        if toucher is not None and not toucher.done():
            toucher.cancel()
        await self._write_touches()

    async def create(
        self,
        actor_id: int,
        name: str,
        *,
        expires_in_days: int | None = None,
        expires_at: datetime | None = None,
        parent_token_id: int | None = None,
    ) -> NewToken:
        """A new token. `parent_token_id`: the token this request came with (API calls): the new token then expires no
        later than it and is revoked with it, so a leaked token cannot mint tokens that outlive its revocation."""
        user = await self.auth.require(actor_id)
        name = ' '.join((name or '').split())
        if not 1 <= len(name) <= 80:
            raise InvalidInput(N_('Give the token a name of 1 to 80 characters, e.g. "laptop notebook".'))
        now = self.clock()
        if expires_in_days is not None:
            if not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
                raise InvalidInput(
                    N_('Expiry must be between 1 and {MAX_EXPIRY_DAYS} days, or none.', MAX_EXPIRY_DAYS=MAX_EXPIRY_DAYS)
                )
            expires_at = now + timedelta(days=expires_in_days)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                expires_at = expires_at.replace(tzinfo=UTC)
            if expires_at <= now:
                raise InvalidInput(N_('The expiry date is in the past. Pick a future date, or no expiry.'))
        if parent_token_id is not None:
            parent = await ApiToken.get_or_none(id=parent_token_id, user_id=user.id)
            if parent is None:
                raise NotFound(N_('No such token.'))
            if parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
                expires_at = parent.expires_at
        active = await ApiToken.filter(user_id=user.id, revoked_at__isnull=True).count()
        if active >= MAX_TOKENS_PER_USER:
            raise InvalidInput(
                N_('You already have {active} tokens. Revoke ones you no longer use first.', active=active)
            )
        secret = PREFIX + ''.join(secrets.choice(ALPHABET) for _ in range(SECRET_LENGTH))
        row = await ApiToken.create(
            user_id=user.id, name=name, prefix=secret[:12], secret_hash=hash_secret(secret), expires_at=expires_at,
            parent_id=parent_token_id,
        )  # fmt: skip
        await self.audit.record(user.id, audit_actions.TOKEN_CREATE, target=name, token_id=row.id)
        return NewToken(token=_info(row), secret=secret)

    async def list(self, actor_id: int) -> list[TokenInfo]:
        user = await self.auth.require(actor_id)
        return [_info(r) for r in await ApiToken.filter(user_id=user.id).order_by('-id')]

    async def revoke(self, actor_id: int, token_id: int) -> TokenInfo:
        """Revoke one of the actor's own tokens (another user's token is 'not found')."""
        user = await self.auth.require(actor_id)
        row = await ApiToken.get_or_none(id=token_id, user_id=user.id)
        if row is None:
            raise NotFound(N_('No such token.'))
        if row.revoked_at is None:
            row.revoked_at = self.clock()
            await row.save(update_fields=['revoked_at'])
            await self.audit.record(user.id, audit_actions.TOKEN_REVOKE, target=row.name, token_id=row.id)
        await self._revoke_descendants(user.id, row.id, row.revoked_at)
        self.forget_user(user.id)
        return _info(row)

    async def _revoke_descendants(self, user_id: int, token_id: int, when: datetime) -> None:
        """Tokens created through the API with this token (and with those, and so on) go with it."""
        parents = [token_id]
        while parents:
            children = await ApiToken.filter(user_id=user_id, parent_id__in=parents).values_list('id', flat=True)
            await ApiToken.filter(id__in=children, revoked_at__isnull=True).update(revoked_at=when)
            for child in children:
                await self.audit.record(user_id, audit_actions.TOKEN_REVOKE, target=f'token {child}', token_id=child,
                                        cascade_from=token_id)  # fmt: skip
            parents = list(children)

    async def authenticate(self, secret: str, *, ip: str | None = None) -> tuple[UserInfo, int]:
        """The active user a bearer secret belongs to, and the token id; raises NotAuthenticated otherwise."""
        secret = (secret or '').strip()
        if not secret.startswith(PREFIX) or len(secret) > 200:
            await self.audit.record(None, audit_actions.TOKEN_REFUSED, outcome='refused', ip=ip, reason='malformed')
            error = NotAuthenticated(N_('This is not a valid API token. Create one on the "API tokens" page.'))
            error.audited = True
            raise error
        digest = hash_secret(secret)
        now = self.clock()
        known = self._known.get(digest)
        fresh = known is not None and known.until > time.monotonic()
        if fresh and (known.expires_at is None or known.expires_at > now):  # type: ignore[union-attr]
            assert known is not None
            if known.last_used_at is None or now - known.last_used_at > timedelta(seconds=60):
                known.last_used_at = now
                self._touch(known.token_id, now)  # at most once a minute
            seen_in_request(known.user)
            return known.user, known.token_id
        # the token and its user in one query
        row = await ApiToken.get_or_none(secret_hash=digest).select_related('user')
        reason = ''
        if row is None:
            reason, message = 'unknown', 'This API token is not valid. Create a new one on the "API tokens" page.'
        elif row.revoked_at is not None:
            reason, message = 'revoked', 'This API token has been revoked. Create a new one on the "API tokens" page.'
        elif row.expires_at is not None and row.expires_at <= now:
            reason, message = 'expired', 'This API token has expired. Create a new one on the "API tokens" page.'
        else:
            user = active_info(row.user)
            if user is None:
                reason, message = 'inactive', 'The account this token belongs to is deactivated.'
        if reason:
            user_id = row.user_id if row else None  # type: ignore[attr-defined]
            await self.audit.record(
                user_id, audit_actions.TOKEN_REFUSED, outcome='refused', ip=ip, reason=reason, prefix=secret[:12]
            )
            error = NotAuthenticated(message)
            error.audited = True  # written above as token_refused: no second row from the API error mapping
            raise error
        assert row is not None and user is not None
        last_used = row.last_used_at
        if last_used is None or now - last_used > timedelta(seconds=60):
            last_used = now
            self._touch(row.id, now)  # at most once a minute: fewer writes
        if len(self._known) >= KNOWN_MAX:
            self._known.clear()
        self._known[digest] = _Known(
            user=user, token_id=row.id, expires_at=row.expires_at, last_used_at=last_used,
            until=time.monotonic() + KNOWN_SECONDS,
        )  # fmt: skip
        return user, row.id
