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


class ModelPull(Model):
    """A model pull: a background job any app process may run, resumed by another if the one running it dies (its
    lease runs out). Progress is written every second, so every process and a restarted one show it."""

    id = fields.IntField(primary_key=True)
    model = fields.CharField(max_length=200)
    host = fields.CharField(max_length=300)
    user = fields.ForeignKeyField('models.User', related_name='model_pulls', null=True, on_delete=fields.SET_NULL)
    state = fields.CharField(max_length=16, default='running')  # running | done | failed | cancelled
    status = fields.CharField(max_length=200, default='starting')
    error = fields.TextField(default='')
    total = fields.BigIntField(default=0)
    completed = fields.BigIntField(default=0)
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    claimed_by = fields.CharField(max_length=32, null=True)
    lease_until = fields.DatetimeField(null=True)

    class Meta:
        table = 'model_pulls'
        indexes = (('state', 'lease_until'),)
