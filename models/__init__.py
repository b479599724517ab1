"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.api_access import ApiToken, ExternalIdentity
from models.audit import AuditEntry
from models.conversations import Comparison, Conversation
from models.hosts import OllamaHost
from models.quotas import Quota
from models.settings import AppSetting
from models.users import Role, User

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
]
__all__ = [
    'ActivityEvent',
    'ApiToken',
    'AppSetting',
    'AuditEntry',
    'Comparison',
    'Conversation',
    'ExternalIdentity',
    'OllamaHost',
    'Quota',
    'Role',
    'User',
]
