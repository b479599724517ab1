"""The navigation registry: every area that exists, with the least role that may open it. Labels and descriptions
are marked for the catalogues here and translated where they are shown (`_(item.label)`)."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.auth import Role
from services.core.i18n import N_


@dataclass(kw_only=True, slots=True, frozen=True)
class NavItem:
    label: str
    icon: str
    path: str
    role: Role = Role.ATTENDEE
    description: str = ''


NAV: list[NavItem] = [
    NavItem(label=N_('Home'), icon='home', path='/', description=N_('Where to start.')),
    NavItem(
        label=N_('Models'),
        icon='view_in_ar',
        path='/models',
        description=N_(
            'Every model on the Ollama servers: capabilities, details, what is loaded; pull and manage them.'
        ),
    ),
    NavItem(
        label=N_('Playground'),
        icon='chat',
        path='/playground',
        description=N_('Chat with a model live: streaming replies, options, metrics and saved conversations.'),
    ),
    NavItem(
        label=N_('Compare'),
        icon='compare',
        path='/compare',
        description=N_('Send one prompt to 2–4 models side by side and mark the better answer.'),
    ),
    NavItem(
        label=N_('Ollama hosts'),
        icon='dns',
        path='/admin/hosts',
        role=Role.ADMIN,
        description=N_('Register Ollama servers, enable or disable them, see their version and latency.'),
    ),
    NavItem(
        label=N_('Workshops'),
        icon='school',
        path='/workshops',
        description=N_(
            'Join a workshop with its code, follow its steps and raise your hand; instructors run them live.'
        ),
    ),
    NavItem(
        label=N_('Prompts'),
        icon='edit_note',
        path='/prompts',
        description=N_('Prompt templates with typed variables: versions, side-by-side and batch runs.'),
    ),
    NavItem(
        label=N_('Tools'),
        icon='build',
        path='/tools',
        description=N_('Declarative tools (built-in, HTTP, static) the models can call; try them in the console.'),
    ),
    NavItem(
        label=N_('Tool chat'),
        icon='handyman',
        path='/tools/chat',
        description=N_('Chat with a model that calls your tools, and watch every call in the transcript.'),
    ),
    NavItem(
        label=N_('Knowledge'),
        icon='library_books',
        path='/knowledge',
        description=N_('Upload documents into knowledge bases, chunk and embed them.'),
    ),
    NavItem(
        label=N_('Embeddings'),
        icon='scatter_plot',
        path='/embeddings',
        description=N_('See how embedding models place sentences: similarity heatmaps and nearest neighbours.'),
    ),
    NavItem(
        label=N_('RAG'),
        icon='question_answer',
        path='/rag',
        description=N_('Answer questions from your documents with citations, and evaluate retrieval.'),
    ),
    NavItem(
        label=N_('Users'),
        icon='manage_accounts',
        path='/admin/users',
        role=Role.ADMIN,
        description=N_('Create accounts, change roles, reset passwords and control sign-up.'),
    ),
    NavItem(
        label=N_('API tokens'),
        icon='key',
        path='/tokens',
        description=N_(
            'Personal tokens for the REST API and the OpenAI-compatible gateway, for notebooks and scripts.'
        ),
    ),
    NavItem(
        label=N_('My usage'),
        icon='data_usage',
        path='/usage',
        description=N_('Your requests and tokens against limits.'),
    ),
    NavItem(
        label=N_('Quotas'),
        icon='speed',
        path='/quotas',
        role=Role.INSTRUCTOR,
        description=N_('Limit requests and tokens per attendee or per workshop.'),
    ),
    NavItem(
        label=N_('Audit log'),
        icon='policy',
        path='/admin/audit',
        role=Role.ADMIN,
        description=N_('Sign-ins, role changes, tokens, refused requests, quota hits and model changes.'),
    ),
    NavItem(
        label=N_('HTTP allow-list'),
        icon='shield',
        path='/admin/http-allowlist',
        role=Role.ADMIN,
        description=N_('Hosts that HTTP tools may call.'),
    ),
]


def items_for(role: Role) -> list[NavItem]:
    return [item for item in NAV if role.rank >= item.role.rank]
