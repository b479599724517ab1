"""The audit log: security-relevant actions (sign-ins, role changes, tokens, refusals, quota hits, model changes).

Other services write through `AuditService.record`; only admins read it. Writing never raises: a failing audit write
is logged and the action it describes goes on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models import AuditEntry, Role
from services.core.audit_log import write
from services.core.auth import AuthService
from services.core.i18n import N_

log = logging.getLogger(__name__)

# action names
SIGN_IN = 'sign_in'
SIGN_IN_FAILED = 'sign_in_failed'
SSO_SIGN_IN = 'sso_sign_in'
SSO_REFUSED = 'sso_refused'
ROLE_CHANGE = 'role_change'
USER_ACTIVE = 'user_active'
PASSWORD_RESET = 'password_reset'
TOKEN_CREATE = 'token_create'
TOKEN_REVOKE = 'token_revoke'
TOKEN_REFUSED = 'token_refused'
PERMISSION_DENIED = 'permission_denied'
REQUEST_REFUSED = 'request_refused'
QUOTA_EXCEEDED = 'quota_exceeded'
QUOTA_CHANGE = 'quota_change'
OPTION_CAPS_CHANGE = 'option_caps_change'
MODEL_PULL = 'model_pull'
MODEL_DELETE = 'model_delete'
MODEL_CREATE = 'model_create'
MODEL_COPY = 'model_copy'
MODEL_UNLOAD = 'model_unload'
VECTOR_DB_CREATE = 'vector_db_create'
VECTOR_DB_DELETE = 'vector_db_delete'
ACTIONS = (
    SIGN_IN,
    SIGN_IN_FAILED,
    SSO_SIGN_IN,
    SSO_REFUSED,
    ROLE_CHANGE,
    USER_ACTIVE,
    PASSWORD_RESET,
    TOKEN_CREATE,
    TOKEN_REVOKE,
    TOKEN_REFUSED,
    PERMISSION_DENIED,
    REQUEST_REFUSED,
    QUOTA_EXCEEDED,
    QUOTA_CHANGE,
    OPTION_CAPS_CHANGE,
    MODEL_PULL,
    MODEL_DELETE,
    MODEL_CREATE,
    MODEL_COPY,
    MODEL_UNLOAD,
    VECTOR_DB_CREATE,
    VECTOR_DB_DELETE,
)
# how the audit page names them (translated there)
ACTION_LABELS = {
    SIGN_IN: N_('sign in'),
    SIGN_IN_FAILED: N_('sign in failed'),
    SSO_SIGN_IN: N_('sso sign in'),
    SSO_REFUSED: N_('sso refused'),
    ROLE_CHANGE: N_('role change'),
    USER_ACTIVE: N_('user active'),
    PASSWORD_RESET: N_('password reset'),
    TOKEN_CREATE: N_('token create'),
    TOKEN_REVOKE: N_('token revoke'),
    TOKEN_REFUSED: N_('token refused'),
    PERMISSION_DENIED: N_('permission denied'),
    REQUEST_REFUSED: N_('request refused'),
    QUOTA_EXCEEDED: N_('quota exceeded'),
    QUOTA_CHANGE: N_('quota change'),
    OPTION_CAPS_CHANGE: N_('option caps change'),
    MODEL_PULL: N_('model pull'),
    MODEL_DELETE: N_('model delete'),
    MODEL_CREATE: N_('model create'),
    MODEL_COPY: N_('model copy'),
    MODEL_UNLOAD: N_('model unload'),
    VECTOR_DB_CREATE: N_('vector db create'),
    VECTOR_DB_DELETE: N_('vector db delete'),
}
# the outcomes an entry can have
OUTCOMES = {
    'ok': N_('ok'),
    'refused': N_('refused'),
    'failed': N_('failed'),
    'started': N_('started'),
    'cancelled': N_('cancelled'),
}


@dataclass(kw_only=True, slots=True)
class AuditRecord:
    id: int
    user_id: int | None
    user_email: str | None
    action: str
    outcome: str
    target: str | None
    ip: str | None
    details: dict[str, Any] = field(default_factory=dict)
    created_at: datetime


class AuditService:
    def __init__(self, auth: AuthService) -> None:
        self.auth = auth

    async def record(
        self,
        user_id: int | None,
        action: str,
        *,
        outcome: str = 'ok',
        target: str | None = None,
        ip: str | None = None,
        **details: Any,
    ) -> None:
        await write(user_id, action, outcome=outcome, target=target, ip=ip, **details)

    async def query(
        self,
        actor_id: int,
        *,
        user_id: int | None = None,
        user_search: str = '',
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[AuditRecord], int]:
        """A page of entries, newest first, and the total that match (admins only)."""
        await self.auth.require(actor_id, Role.ADMIN)
        query = AuditEntry.all()
        if user_id is not None:
            query = query.filter(user_id=user_id)
        if user_search.strip():
            query = query.filter(user__email__icontains=user_search.strip())
        if action:
            query = query.filter(action=action)
        if outcome:
            query = query.filter(outcome=outcome)
        if since is not None:
            query = query.filter(created_at__gte=since)
        if until is not None:
            query = query.filter(created_at__lt=until)
        total = await query.count()
        rows = (
            await query.order_by('-id')
            .offset(offset)
            .limit(limit)
            .values('id', 'user_id', 'user__email', 'action', 'outcome', 'target', 'ip', 'details', 'created_at')
        )
        records = [
            AuditRecord(
                id=r['id'],
                user_id=r['user_id'],
                user_email=r['user__email'],
                action=r['action'],
                outcome=r['outcome'],
                target=r['target'],
                ip=r['ip'],
                details=r['details'] or {},
                created_at=r['created_at'],
            )
            for r in rows
        ]
        return records, total
