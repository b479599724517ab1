"""Usage limits per user or per workshop."""

from tortoise import fields
from tortoise.models import Model


class Quota(Model):
    """Request and token limits. Exactly one of `user` / `workshop_id` is set.

    A workshop quota applies to each attendee of that workshop separately (counted on their activity in it).
    """

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='quotas', null=True, on_delete=fields.CASCADE)
    workshop_id = fields.IntField(null=True, db_index=True)
    period = fields.CharField(max_length=16, default='day')  # 'day' (resets at UTC midnight) or 'session'
    max_requests = fields.IntField(null=True)
    max_tokens = fields.IntField(null=True)
    session_started_at = fields.DatetimeField(null=True)
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'quotas'
