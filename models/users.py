from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = 'admin'
    INSTRUCTOR = 'instructor'
    ATTENDEE = 'attendee'

    @property
    def rank(self) -> int:
        return {Role.ATTENDEE: 0, Role.INSTRUCTOR: 1, Role.ADMIN: 2}[self]


class User(Model):
    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, unique=True)
    display_name = fields.CharField(max_length=80)
    password_hash = fields.CharField(max_length=255, null=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.ATTENDEE)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    last_login_at = fields.DatetimeField(null=True)
    language = fields.CharField(max_length=8, default='')  # the UI language they chose; '' = their browser's

    class Meta:
        table = 'users'
