from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class Visibility(StrEnum):
    PRIVATE = 'private'
    WORKSHOP = 'workshop'
    PUBLIC = 'public'


class Prompt(Model):
    """A prompt template; its content lives in numbered versions, `current_version` says which one is in use."""

    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='prompts', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=120)
    description = fields.TextField(default='')
    tags = fields.JSONField(default=list)
    visibility = fields.CharEnumField(Visibility, max_length=16, default=Visibility.PRIVATE, db_index=True)
    workshop_id = fields.IntField(null=True, db_index=True)
    current_version = fields.IntField(default=1)
    forked_from_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'prompts'


class PromptVersion(Model):
    id = fields.IntField(primary_key=True)
    prompt = fields.ForeignKeyField('models.Prompt', related_name='versions', on_delete=fields.CASCADE)
    number = fields.IntField()
    system_template = fields.TextField(default='')
    user_template = fields.TextField(default='')
    variables = fields.JSONField(default=list)
    default_model = fields.CharField(max_length=200, default='')
    options = fields.JSONField(default=dict)
    message = fields.CharField(max_length=200, default='')
    author_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'prompt_versions'
        unique_together = (('prompt', 'number'),)


class PromptRun(Model):
    """One rendered prompt sent to one model, with what came back. Owned by the user who ran it."""

    id = fields.IntField(primary_key=True)
    prompt = fields.ForeignKeyField('models.Prompt', related_name='runs', on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name='prompt_runs', on_delete=fields.CASCADE)
    version = fields.IntField()
    batch_id = fields.CharField(max_length=36, null=True, db_index=True)
    row_index = fields.IntField(null=True)
    values = fields.JSONField(default=dict)
    system_prompt = fields.TextField(default='')
    user_prompt = fields.TextField(default='')
    model = fields.CharField(max_length=200)
    options = fields.JSONField(default=dict)
    output = fields.TextField(default='')
    error = fields.TextField(null=True)
    metrics = fields.JSONField(default=dict)
    rating = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'prompt_runs'
