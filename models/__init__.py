"""Tortoise models, one module per aggregate, all re-exported here (Tortoise discovers them from this module)."""

from models.activity import ActivityEvent
from models.api_access import ApiToken, ExternalIdentity
from models.arena import ArenaBattle, WorkshopArena
from models.attendee_keys import AttendeeDevice, AttendeeResumeCode
from models.audit import AuditEntry
from models.conversations import Comparison, Conversation
from models.gallery import GalleryAsk, GallerySubmission
from models.hosts import ModelPull, OllamaHost
from models.knowledge import Chunk, Document, EvalRun, EvalSet, IngestJob, KnowledgeBase, RagSystem, VectorDatabase
from models.prompts import Prompt, PromptRun, PromptVersion, Visibility
from models.quotas import Quota
from models.settings import AppSetting
from models.tools import AllowedHost, Tool, ToolKind
from models.usage import ModelCall
from models.users import Role, User
from models.workshops import (
    Announcement,
    CheckResult,
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
    ModelPull,
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
    CheckResult,
    RaisedHand,
    Announcement,
    WorkshopArena,
    ArenaBattle,
    GalleryAsk,
    GallerySubmission,
    AttendeeResumeCode,
    AttendeeDevice,
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
    'ArenaBattle',
    'AttendeeDevice',
    'AttendeeResumeCode',
    'AuditEntry',
    'CheckResult',
    'Chunk',
    'Comparison',
    'Conversation',
    'Document',
    'EvalRun',
    'EvalSet',
    'ExternalIdentity',
    'GalleryAsk',
    'GallerySubmission',
    'HandState',
    'IngestJob',
    'KnowledgeBase',
    'ModelCall',
    'ModelPull',
    'OllamaHost',
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
    'WorkshopArena',
    'WorkshopInstructor',
    'WorkshopMembership',
    'WorkshopResource',
    'WorkshopState',
    'WorkshopStep',
]
