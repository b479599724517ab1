"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
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
    'AppSetting',
    'HandState',
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
