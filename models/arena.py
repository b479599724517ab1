"""The blind arena of a workshop: the models it pits against each other and the battles attendees vote on."""

from tortoise import fields
from tortoise.models import Model


class WorkshopArena(Model):
    """The arena settings of one workshop: the models (two or more of its allowed ones) battles are drawn from."""

    id = fields.IntField(primary_key=True)
    workshop = fields.OneToOneField('models.Workshop', related_name='arena', on_delete=fields.CASCADE)
    models = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'workshop_arenas'


class ArenaBattle(Model):
    """One prompt of one attendee answered by two models shown as A and B; the vote is set once."""

    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='arena_battles', on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name='arena_battles', on_delete=fields.CASCADE)
    prompt = fields.TextField()
    model_a = fields.CharField(max_length=200)
    model_b = fields.CharField(max_length=200)
    answer_a = fields.TextField(null=True)  # None until that answer has finished (or failed)
    answer_b = fields.TextField(null=True)
    vote = fields.CharField(max_length=8, null=True)  # a, b, tie, bad (both bad); None until the attendee votes
    created_at = fields.DatetimeField(auto_now_add=True)
    voted_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'workshop_arena_battles'
