"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.api_access import ApiToken, ExternalIdentity
from models.audit import AuditEntry
from models.conversations import Comparison, Conversation
from models.hosts import OllamaHost
from models.quotas import Quota
from models.settings import AppSetting
from models.users import Role, User
from models.workshops import (
    Announcement,
    HandState,
    RaisedHand,
    StepProgress,
    Workshop,
    WorkshopInstructor,
    WorkshopMembership,
    WorkshopResource,
    WorkshopState,
    WorkshopStep,
)

__models__ = [
    User,
    ActivityEvent,
    AppSetting,
    OllamaHost,
    Conversation,
    Comparison,
    ApiToken,
    ExternalIdentity,
    Quota,
    AuditEntry,
    Workshop,
    WorkshopInstructor,
    WorkshopResource,
    WorkshopStep,
    WorkshopMembership,
    StepProgress,
    RaisedHand,
    Announcement,
]
__all__ = [
    'ActivityEvent',
    'Announcement',
    'ApiToken',
    'AppSetting',
    'AuditEntry',
    'Comparison',
    'Conversation',
    'ExternalIdentity',
    'HandState',
    'OllamaHost',
    'Quota',
    'RaisedHand',
    'Role',
    'StepProgress',
    'User',
    'Workshop',
    'WorkshopInstructor',
    'WorkshopMembership',
    'WorkshopResource',
    'WorkshopState',
    'WorkshopStep',
]
