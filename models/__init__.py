"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.knowledge import Chunk, Document, EvalRun, EvalSet, IngestJob, KnowledgeBase, RagSystem
from models.settings import AppSetting
from models.users import Role, User

__models__ = [User, ActivityEvent, AppSetting, KnowledgeBase, Document, Chunk, IngestJob, RagSystem, EvalSet, EvalRun]
__all__ = [
    'ActivityEvent',
    'AppSetting',
    'Chunk',
    'Document',
    'EvalRun',
    'EvalSet',
    'IngestJob',
    'KnowledgeBase',
    'RagSystem',
    'Role',
    'User',
]
