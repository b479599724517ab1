"""The results gallery of a workshop: steps that ask attendees to submit a result, and their submissions."""

from tortoise import fields
from tortoise.models import Model


class GalleryAsk(Model):
    """A step that asks each attendee for a result of one kind: answer, prompt or rag (an answer with citations)."""

    id = fields.IntField(primary_key=True)
    step = fields.OneToOneField('models.WorkshopStep', related_name='gallery_ask', on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16, default='answer')

    class Meta:
        table = 'workshop_gallery_asks'


class GallerySubmission(Model):
    """One attendee's result for one step; the instructor may show it on the projector (named only if agreed)."""

    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='gallery', on_delete=fields.CASCADE)
    step = fields.ForeignKeyField('models.WorkshopStep', related_name='submissions', on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name='gallery_submissions', on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16)
    text = fields.TextField()
    citations = fields.JSONField(default=list)  # for a RAG answer: the documents it cites
    show_name = fields.BooleanField(default=False)
    shown_at = fields.DatetimeField(null=True)  # on the projector since then; None: not shown
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'workshop_gallery_submissions'
        unique_together = (('step', 'user'),)
