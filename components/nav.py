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
        label='Workshops',
        icon='school',
        path='/workshops',
        description='Join a workshop with its code, follow its steps and raise your hand; instructors run them live.',
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
