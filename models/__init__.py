"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.conversations import Comparison, Conversation
from models.hosts import OllamaHost
from models.settings import AppSetting
from models.users import Role, User

__models__ = [User, ActivityEvent, AppSetting, OllamaHost, Conversation, Comparison]
__all__ = ['ActivityEvent', 'AppSetting', 'Comparison', 'Conversation', 'OllamaHost', 'Role', 'User']
