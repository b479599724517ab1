"""Plain data handed out by the workshop services (never ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(kw_only=True, slots=True)
class StepInfo:
    id: int
    position: int
    title: str
    instructions: str
    rule: dict[str, Any] | None
    rule_label: str = ''
    link: str = ''
    checks: list[dict[str, Any]] = field(default_factory=list)  # exercise checks (services.workshops.checks)


@dataclass(kw_only=True, slots=True)
class ResourceInfo:
    kind: str
    resource_id: int
    label: str
    link: str


@dataclass(kw_only=True, slots=True)
class WorkshopInfo:
    id: int
    title: str
    description: str
    state: str
    join_code: str
    owner_id: int
    owner_name: str
    starts_at: datetime | None
    ends_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    allowed_models: list[str]
    stuck_minutes: int
    attendees_may_share: bool = False  # attendees may share their prompts, tools, knowledge bases, RAG systems here
    co_instructors: list[dict[str, Any]] = field(default_factory=list)
    resources: list[ResourceInfo] = field(default_factory=list)
    steps: list[StepInfo] = field(default_factory=list)
    can_manage: bool = False
    attendee_count: int = 0
    assistants: list[dict[str, Any]] = field(default_factory=list)  # managers only
    assisting: bool = False  # the reader is an assistant of this workshop (dashboard, hands, messages)


@dataclass(kw_only=True, slots=True)
class HandInfo:
    id: int
    user_id: int
    name: str
    message: str
    state: str
    created_at: datetime
    claimed_by: str = ''  # the instructor or assistant on the way
    claimed_by_id: int | None = None


@dataclass(kw_only=True, slots=True)
class AnnouncementInfo:
    id: int
    text: str
    created_at: datetime


@dataclass(kw_only=True, slots=True)
class AttendeeView:
    workshop: WorkshopInfo
    current_step: int
    done: dict[int, str]  # step id -> 'manual' | 'auto'
    announcements: list[AnnouncementInfo]
    hand: HandInfo | None
    checks: dict[int, dict[str, dict[str, Any]]] = field(default_factory=dict)  # step -> check -> {passed, reason}
    resume_code: str = ''  # the attendee's personal resume code ('' for accounts with a password)
    messages: list[dict[str, Any]] = field(default_factory=list)  # private messages from the staff, newest first


@dataclass(kw_only=True, slots=True)
class JoinResult:
    user_id: int
    workshop_id: int
    created_account: bool
