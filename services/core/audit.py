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
