"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.settings import AppSetting
from models.users import Role, User

__models__ = [User, ActivityEvent, AppSetting]
__all__ = ['ActivityEvent', 'AppSetting', 'Role', 'User']
