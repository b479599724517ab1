"""The audit log of security-relevant actions."""

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    """One security-relevant event. Written only through services.audit.AuditService."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='audit_entries', null=True, on_delete=fields.SET_NULL)
    action = fields.CharField(max_length=64, db_index=True)
    outcome = fields.CharField(max_length=16, default='ok')  # ok | refused | failed
    target = fields.CharField(max_length=300, null=True)
    ip = fields.CharField(max_length=64, null=True)
    details = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = 'audit_entries'
        ordering = ['-id']
