"""The navigation registry: every area that exists, with the least role that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.auth import Role


@dataclass(kw_only=True, slots=True, frozen=True)
class NavItem:
    label: str
    icon: str
    path: str
    role: Role = Role.ATTENDEE
    description: str = ''


NAV: list[NavItem] = [
    NavItem(label='Home', icon='home', path='/', description='Where to start.'),
    NavItem(
        label='Models',
        icon='view_in_ar',
        path='/models',
        description='Every model on the Ollama servers: capabilities, details, what is loaded; pull and manage them.',
    ),
    NavItem(
        label='Playground',
        icon='chat',
        path='/playground',
        description='Chat with a model live: streaming replies, options, metrics and saved conversations.',
    ),
    NavItem(
        label='Compare',
        icon='compare',
        path='/compare',
        description='Send one prompt to 2–4 models side by side and mark the better answer.',
    ),
    NavItem(
        label='Ollama hosts',
        icon='dns',
        path='/admin/hosts',
        role=Role.ADMIN,
        description='Register Ollama servers, enable or disable them, see their version and latency.',
    ),
    NavItem(
        label='Workshops',
        icon='school',
        path='/workshops',
        description='Join a workshop with its code, follow its steps and raise your hand; instructors run them live.',
    ),
    NavItem(
        label='Prompts',
        icon='edit_note',
        path='/prompts',
        description='Prompt templates with typed variables: versions, side-by-side and batch runs.',
    ),
    NavItem(
        label='Tools',
        icon='build',
        path='/tools',
        description='Declarative tools (built-in, HTTP, static) the models can call; try them in the console.',
    ),
    NavItem(
        label='Tool chat',
        icon='handyman',
        path='/tools/chat',
        description='Chat with a model that calls your tools, and watch every call in the transcript.',
    ),
    NavItem(
        label='Knowledge',
        icon='library_books',
        path='/knowledge',
        description='Upload documents into knowledge bases, chunk and embed them.',
    ),
    NavItem(
        label='Embeddings',
        icon='scatter_plot',
        path='/embeddings',
        description='See how embedding models place sentences: similarity heatmaps and nearest neighbours.',
    ),
    NavItem(
        label='RAG',
        icon='question_answer',
        path='/rag',
        description='Answer questions from your documents with citations, and evaluate retrieval.',
    ),
    NavItem(
        label='Users',
        icon='manage_accounts',
        path='/admin/users',
        role=Role.ADMIN,
        description='Create accounts, change roles, reset passwords and control sign-up.',
    ),
    NavItem(
        label='API tokens',
        icon='key',
        path='/tokens',
        description='Personal tokens for the REST API and the OpenAI-compatible gateway, for notebooks and scripts.',
    ),
    NavItem(label='My usage', icon='data_usage', path='/usage', description='Your requests and tokens against limits.'),
    NavItem(
        label='Quotas',
        icon='speed',
        path='/quotas',
        role=Role.INSTRUCTOR,
        description='Limit requests and tokens per attendee or per workshop.',
    ),
    NavItem(
        label='Audit log',
        icon='policy',
        path='/admin/audit',
        role=Role.ADMIN,
        description='Sign-ins, role changes, tokens, refused requests, quota hits and model changes.',
    ),
    NavItem(
        label='HTTP allow-list',
        icon='shield',
        path='/admin/http-allowlist',
        role=Role.ADMIN,
        description='Hosts that HTTP tools may call.',
    ),
]


def items_for(role: Role) -> list[NavItem]:
    return [item for item in NAV if role.rank >= item.role.rank]
