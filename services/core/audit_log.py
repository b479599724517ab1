"""Writing one audit entry. Never raises: a failing audit write is logged and the action it describes goes on.

Kept apart from `services.core.audit` (which reads the log, for admins, and so needs the AuthService) so that the
AuthService itself can be built with this writer: sign-ins and refusals are audited without a setter after the fact.
"""

from __future__ import annotations

import logging
from typing import Any

from models import AuditEntry

log = logging.getLogger(__name__)


async def write(
    user_id: int | None,
    action: str,
    *,
    outcome: str = 'ok',
    target: str | None = None,
    ip: str | None = None,
    **details: Any,
) -> None:
    try:
        await AuditEntry.create(
            user_id=user_id,
            action=action[:64],
            outcome=outcome[:16],
            target=target[:300] if target else None,
            ip=ip[:64] if ip else None,
            details=details,
        )
    except Exception:
        log.warning('audit write failed for %s %s', action, user_id, exc_info=True)
