"""Response and request bodies of the REST API (/api/v1) shared by several routers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

RoleName = Literal['admin', 'instructor', 'attendee']


class UserOut(BaseModel):
    id: int
    email: str
    display_name: str
    role: RoleName
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class UsageOut(BaseModel):
    quota_id: int
    scope: Literal['user', 'workshop']
    workshop_id: int | None
    period: Literal['day', 'session']
    requests: int
    tokens: int
    max_requests: int | None
    max_tokens: int | None
    since: datetime
    resets_at: datetime | None = Field(description='When usage resets; null: when a new workshop session starts.')


class ActivityOut(BaseModel):
    id: int
    user_id: int | None
    action: str
    created_at: datetime
    workshop_id: int | None
    model: str | None
    host: str | None
    tokens: int | None
    latency_ms: float | None
    error: str | None
    details: dict[str, Any]


class Deleted(BaseModel):
    ok: bool = True
