"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.prompts import Prompt, PromptRun, PromptVersion, Visibility
from models.settings import AppSetting
from models.tools import AllowedHost, Tool, ToolKind
from models.users import Role, User

__models__ = [User, ActivityEvent, AppSetting, Prompt, PromptVersion, PromptRun, Tool, AllowedHost]
__all__ = [
    'ActivityEvent',
    'AllowedHost',
    'AppSetting',
    'Prompt',
    'PromptRun',
    'PromptVersion',
    'Role',
    'Tool',
    'ToolKind',
    'User',
    'Visibility',
]
