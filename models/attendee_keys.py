"""How a password-less attendee (joined by code) gets back into the same account: a personal resume code and
remembered devices. Neither secret is stored: only its SHA-256 (the resume code itself is derived from the app secret
and a nonce, so the page can show it again; a device token lives only in the browser's cookie)."""

from tortoise import fields
from tortoise.models import Model


class AttendeeResumeCode(Model):
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField('models.User', related_name='resume_code', on_delete=fields.CASCADE)
    nonce = fields.CharField(max_length=32)
    code_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'attendee_resume_codes'


class AttendeeDevice(Model):
    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='devices', on_delete=fields.CASCADE)
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'attendee_devices'
