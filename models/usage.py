from tortoise import fields
from tortoise.models import Model


class ModelCall(Model):
    """One request to an Ollama server, written only by services.models.calls (the one model-call path).

    The usage ledger: quotas count it (`counted` rows are requests; their tokens count against token limits), and it
    says who asked, why (`purpose`), which model on which host, and how it went."""

    id = fields.BigIntField(primary_key=True)
    user_id = fields.IntField(null=True)
    workshop_id = fields.IntField(null=True)
    purpose = fields.CharField(max_length=32)
    kind = fields.CharField(max_length=16)  # chat | generate | embed | pull | create | copy | delete | unload | show
    model = fields.CharField(max_length=200)
    host = fields.CharField(max_length=300)
    counted = fields.BooleanField(default=False)
    prompt_tokens = fields.IntField(null=True)
    completion_tokens = fields.IntField(null=True)
    tokens = fields.IntField(default=0)
    latency_ms = fields.FloatField(null=True)
    ttft_ms = fields.FloatField(null=True)
    error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = 'model_calls'
        ordering = ['-id']
        indexes = (('user_id', 'created_at'), ('workshop_id', 'created_at'))
