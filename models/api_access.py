"""Personal API tokens and the external (OAuth/OIDC) identities linked to accounts."""

from tortoise import fields
from tortoise.models import Model


class ApiToken(Model):
    """A personal API token. Only the SHA-256 hash of the secret is stored; the secret is shown once."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='api_tokens', on_delete=fields.CASCADE)
    name = fields.CharField(max_length=80)
    prefix = fields.CharField(max_length=16)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # the token that created this one through the API: revoking it revokes this one too, and this one cannot outlive it
    parent_id = fields.IntField(null=True, db_index=True)

    class Meta:
        table = 'api_tokens'


class ExternalIdentity(Model):
    """An account at an OAuth/OIDC provider (provider + subject) linked to a local user."""

    id = fields.IntField(primary_key=True)
    user = fields.ForeignKeyField('models.User', related_name='identities', on_delete=fields.CASCADE)
    provider = fields.CharField(max_length=32)
    subject = fields.CharField(max_length=255)
    email = fields.CharField(max_length=254, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'external_identities'
        unique_together = (('provider', 'subject'),)
