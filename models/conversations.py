from tortoise import fields
from tortoise.models import Model


class Conversation(Model):
    """A saved playground chat. Private to its owner; messages (with per-reply metrics) are kept as JSON."""

    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='conversations', on_delete=fields.CASCADE)
    title = fields.CharField(max_length=200, default='New conversation')
    model = fields.CharField(max_length=200)
    system_prompt = fields.TextField(default='')
    options = fields.JSONField(default=dict)
    messages = fields.JSONField(default=list)
    workshop_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True, db_index=True)

    class Meta:
        table = 'conversations'
        ordering = ['-updated_at']


class Comparison(Model):
    """One side-by-side run: a prompt sent to 2-4 models; `winner` is the model the user marked as better."""

    id = fields.IntField(primary_key=True)
    owner = fields.ForeignKeyField('models.User', related_name='comparisons', on_delete=fields.CASCADE)
    prompt = fields.TextField()
    models = fields.JSONField(default=list)
    results = fields.JSONField(default=list)
    winner = fields.CharField(max_length=200, null=True, db_index=True)
    workshop_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'comparisons'
        ordering = ['-id']
