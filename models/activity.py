from tortoise import fields
from tortoise.models import Model


class ActivityEvent(Model):
    """One thing a user did. Written only through services.activity.ActivityService."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='activity', null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=64, db_index=True)
    workshop_id = fields.IntField(null=True)
    model = fields.CharField(max_length=200, null=True)
    host = fields.CharField(max_length=300, null=True)
    tokens = fields.IntField(null=True)
    latency_ms = fields.FloatField(null=True)
    error = fields.TextField(null=True)
    details = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = 'activity_events'
        ordering = ['-id']
        # the hot reads: one person's rows and one workshop's rows, newest first (tests/unit/test_activity_queries.py)
        indexes = (('user_id', 'id'), ('workshop_id', 'id'))
