from tortoise import fields
from tortoise.models import Model


class AppSetting(Model):
    """Small runtime settings that admins change in the UI (e.g. whether open sign-up is on)."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.JSONField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'app_settings'
