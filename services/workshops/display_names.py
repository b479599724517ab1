"""Display names in a workshop that cannot pass for someone else (threat T20, issue 14 item 10).

Someone joining by code picks their own display name. A name that, once case, spacing, punctuation and look-alike
letters are set aside, is the name of the workshop's instructor or of another attendee — or that claims a role
("Ada (instructor)") — is refused with a sentence saying why, so the dashboard, hands and the projector never show
two people as one, or an attendee as staff.
"""

from __future__ import annotations

import re
import unicodedata

from models import User, WorkshopAssistant, WorkshopInstructor, WorkshopMembership
from services.core.errors import Conflict, InvalidInput
from services.core.i18n import N_

ROLE_WORDS = frozenset(
    {'admin', 'administrator', 'instructor', 'teacher', 'trainer', 'tutor', 'assistant', 'moderator', 'staff'}
)
# letters and digits that read as other letters (Cyrillic and Greek look-alikes, leetspeak), after casefolding
LOOKALIKES = str.maketrans(
    {
        'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's',
        'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'к': 'k', 'м': 'm', 'т': 't', 'в': 'b', 'н': 'h',
        'α': 'a', 'ε': 'e', 'ο': 'o', 'ρ': 'p', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'τ': 't', 'υ': 'u', 'χ': 'x',
        '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't',
    }
)  # fmt: skip


def _skeleton(name: str) -> str:
    text = unicodedata.normalize('NFKD', name).casefold()
    text = ''.join(c for c in text if not unicodedata.combining(c))  # é → e
    return text.translate(LOOKALIKES).replace('i', 'l')  # l and I look alike in most UI fonts


def name_key(name: str) -> str:
    """What two names that look the same share: letters and digits only, look-alikes folded."""
    return re.sub(r'[\W_]+', '', _skeleton(name))


def claims_role(name: str) -> bool:
    words = re.split(r'[\W_]+', unicodedata.normalize('NFKC', name).casefold())
    return any(word in ROLE_WORDS for word in words)


async def check_new_attendee_name(workshop_id: int, owner_id: int, name: str) -> None:
    """Refuse a joining attendee's name that claims a role or passes for someone already in the workshop."""
    if claims_role(name):
        raise InvalidInput(N_('A display name cannot claim a role (like "instructor" or "admin"). Use your own name.'))
    key = name_key(name)
    if not key:
        raise InvalidInput(N_('A display name needs at least one letter or digit.'))
    staff = [
        *await User.filter(id=owner_id).values_list('display_name', flat=True),
        *await WorkshopInstructor.filter(workshop_id=workshop_id).values_list('user__display_name', flat=True),
    ]
    if any(name_key(other) == key for other in staff):
        raise InvalidInput(
            N_('"{name}" is the name of this workshop\'s instructor. Please join under your own name.', name=name)
        )
    assistants = await WorkshopAssistant.filter(workshop_id=workshop_id).values_list('user__display_name', flat=True)
    if any(name_key(other) == key for other in assistants):
        raise InvalidInput(
            N_('"{name}" is the name of this workshop\'s assistant. Please join under your own name.', name=name)
        )
    attendees = await WorkshopMembership.filter(workshop_id=workshop_id).values_list('user__display_name', flat=True)
    for other in attendees:
        if name_key(other) == key:
            raise Conflict(
                N_(
                    'Someone in this workshop is already called "{other}". Add an initial or your surname '
                    'so your instructor can tell you apart.',
                    other=other,
                )
            )


__all__ = ['check_new_attendee_name', 'claims_role', 'name_key']
