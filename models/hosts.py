from tortoise import fields
from tortoise.models import Model


class OllamaHost(Model):
    """An Ollama server the platform may use. Managed by admins through services.hosts.HostDirectory."""

    id = fields.IntField(primary_key=True)
    label = fields.CharField(max_length=80)
    url = fields.CharField(max_length=300, unique=True)
    enabled = fields.BooleanField(default=True)
    position = fields.IntField(default=0)
    slots = fields.IntField(null=True)  # generations it runs at once; None: the OLLAMA_SLOTS default
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'ollama_hosts'
        ordering = ['position', 'id']
