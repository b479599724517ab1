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
        label='Users',
        icon='manage_accounts',
        path='/admin/users',
        role=Role.ADMIN,
        description='Create accounts, change roles, reset passwords and control sign-up.',
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
