"""The navigation registry: every area that exists, with the least role that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from services.auth import Role


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
]


def items_for(role: Role) -> list[NavItem]:
    return [item for item in NAV if role.rank >= item.role.rank]
