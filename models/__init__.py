"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.api_access import ApiToken, ExternalIdentity
from models.audit import AuditEntry
from models.conversations import Comparison, Conversation
from models.hosts import OllamaHost
from models.knowledge import Chunk, Document, EvalRun, EvalSet, IngestJob, KnowledgeBase, RagSystem, VectorDatabase
from models.prompts import Prompt, PromptRun, PromptVersion, Visibility
from models.quotas import Quota
from models.settings import AppSetting
from models.tools import AllowedHost, Tool, ToolKind
from models.usage import ModelCall
from models.users import Role, User
from models.workshops import (
    Announcement,
    HandState,
    PrivateMessage,
    RaisedHand,
    StepProgress,
    Workshop,
    WorkshopAssistant,
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
    WorkshopAssistant,
    PrivateMessage,
    Prompt,
    PromptVersion,
    PromptRun,
    Tool,
    AllowedHost,
    VectorDatabase,
    KnowledgeBase,
    Document,
    Chunk,
    IngestJob,
    RagSystem,
    EvalSet,
    EvalRun,
    ModelCall,
]
__all__ = [
    'ActivityEvent',
    'AllowedHost',
    'Announcement',
    'ApiToken',
    'AppSetting',
    'AuditEntry',
    'Chunk',
    'Comparison',
    'Conversation',
    'Document',
    'EvalRun',
    'EvalSet',
    'ExternalIdentity',
    'HandState',
    'IngestJob',
    'KnowledgeBase',
    'ModelCall',
    'OllamaHost',
    'PrivateMessage',
    'Prompt',
    'PromptRun',
    'PromptVersion',
    'Quota',
    'RagSystem',
    'RaisedHand',
    'Role',
    'StepProgress',
    'Tool',
    'ToolKind',
    'User',
    'VectorDatabase',
    'Visibility',
    'Workshop',
    'WorkshopAssistant',
    'WorkshopInstructor',
    'WorkshopMembership',
    'WorkshopResource',
    'WorkshopState',
    'WorkshopStep',
]
