from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.prompts import Visibility


class ToolKind(StrEnum):
    BUILTIN = 'builtin'
    HTTP = 'http'
    STATIC = 'static'


class Tool(Model):
    """A declarative tool: a JSON-schema signature and one implementation kind with its configuration (no code)."""

    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='tools', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=64)
    description = fields.TextField(default='')
    parameters = fields.JSONField(default=dict)
    kind = fields.CharEnumField(ToolKind, max_length=16)
    config = fields.JSONField(default=dict)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PRIVATE, db_index=True)
    workshop_id = fields.IntField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'tools'


class AllowedHost(Model):
    """A host that HTTP tools may call (admin-managed). `allow_private` is the explicit, unsafe exception that lets
    one host:port resolve to loopback or private addresses (e.g. a service on the same machine)."""

    id = fields.IntField(primary_key=True)
    host = fields.CharField(max_length=253)
    port = fields.IntField(null=True)
    allow_private = fields.BooleanField(default=False)
    note = fields.CharField(max_length=200, default='')
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'http_allowed_hosts'
        unique_together = (('host', 'port'),)
