"""Workshops: sessions with a join code, an agenda of steps, attendees, their progress, raised hands, announcements."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class WorkshopState(StrEnum):
    DRAFT = 'draft'
    LIVE = 'live'
    ENDED = 'ended'


class Workshop(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=200)
    description = fields.TextField(default='')
    starts_at = fields.DatetimeField(null=True)
    ends_at = fields.DatetimeField(null=True)
    state = fields.CharEnumField(WorkshopState, max_length=16, default=WorkshopState.DRAFT)
    owner = fields.ForeignKeyField('models.User', related_name='owned_workshops', on_delete=fields.CASCADE)
    allowed_models = fields.JSONField(default=list)
    join_code = fields.CharField(max_length=16, unique=True)
    stuck_minutes = fields.IntField(default=10)
    attendees_may_share = fields.BooleanField(default=False)  # attendees may share prompts, tools, KBs, RAG here
    # pacing (issue 18 item 2): 'open' (every step visible) or 'paced' (the first `unlocked_steps` steps are open);
    # a step timer and "eyes on the projector" are room-wide and kept here so a rebuilt live state has them too
    pacing = fields.CharField(max_length=8, default='open')
    unlocked_steps = fields.IntField(default=1)
    timer_ends_at = fields.DatetimeField(null=True)
    timer_label = fields.CharField(max_length=300, default='')
    focus_message = fields.CharField(max_length=500, null=True)  # set: attendees' screens are dimmed with it
    started_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'workshops'


class WorkshopInstructor(Model):
    """A co-instructor: may manage the workshop and open its dashboard."""

    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='co_instructors', on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name='co_instructing', on_delete=fields.CASCADE)

    class Meta:
        table = 'workshop_instructors'
        unique_together = (('workshop', 'user'),)


class WorkshopAssistant(Model):
    """An assistant (issue 18 item 4): sees the dashboard, claims and resolves hands, messages one attendee; may not
    end the workshop or change its settings, steps, pacing or quotas. A table of its own (like co-instructors), not a
    membership role: memberships are the attendees everywhere (matrix, counts, exports, model-call attribution)."""

    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='assistants', on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name='assisting', on_delete=fields.CASCADE)

    class Meta:
        table = 'workshop_assistants'
        unique_together = (('workshop', 'user'),)


class WorkshopResource(Model):
    """A resource shared with the attendees, owned by another feature: (kind, resource_id), no foreign key."""

    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='resources', on_delete=fields.CASCADE)
    kind = fields.CharField(max_length=16)  # prompt, tool, knowledge, rag
    resource_id = fields.IntField()
    label = fields.CharField(max_length=200, default='')

    class Meta:
        table = 'workshop_resources'
        unique_together = (('workshop', 'kind', 'resource_id'),)


class WorkshopStep(Model):
    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='steps', on_delete=fields.CASCADE)
    position = fields.IntField(default=0)
    title = fields.CharField(max_length=200)
    instructions = fields.TextField(default='')
    rule = fields.JSONField(null=True)  # {'action': 'chat', 'detail': 'variables', 'min': 1} or None (manual only)
    checks = fields.JSONField(default=list)  # exercise checks (services.workshops.checks): all passed = step done

    class Meta:
        table = 'workshop_steps'
        ordering = ['position', 'id']


class WorkshopMembership(Model):
    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='memberships', on_delete=fields.CASCADE)
    user = fields.ForeignKeyField('models.User', related_name='workshop_memberships', on_delete=fields.CASCADE)
    role = fields.CharField(max_length=16, default='attendee')
    current_step = fields.IntField(default=0)  # index into the ordered steps
    joined_at = fields.DatetimeField(auto_now_add=True)
    last_seen = fields.DatetimeField(null=True)
    left_at = fields.DatetimeField(null=True)

    class Meta:
        table = 'workshop_memberships'
        unique_together = (('workshop', 'user'),)


class StepProgress(Model):
    id = fields.IntField(primary_key=True)
    membership = fields.ForeignKeyField('models.WorkshopMembership', related_name='progress', on_delete=fields.CASCADE)
    step = fields.ForeignKeyField('models.WorkshopStep', related_name='progress', on_delete=fields.CASCADE)
    done = fields.BooleanField(default=True)
    how = fields.CharField(max_length=16, default='manual')  # manual, auto
    at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'workshop_progress'
        unique_together = (('membership', 'step'),)


class CheckResult(Model):
    """The latest outcome of one exercise check of a step for one attendee (a pass stays a pass)."""

    id = fields.IntField(primary_key=True)
    membership = fields.ForeignKeyField('models.WorkshopMembership', related_name='checks', on_delete=fields.CASCADE)
    step = fields.ForeignKeyField('models.WorkshopStep', related_name='check_results', on_delete=fields.CASCADE)
    check_id = fields.CharField(max_length=16)
    passed = fields.BooleanField(default=False)
    reason = fields.CharField(max_length=500, default='')
    at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'workshop_check_results'
        unique_together = (('membership', 'step', 'check_id'),)


class HandState(StrEnum):
    RAISED = 'raised'
    ACKNOWLEDGED = 'acknowledged'
    RESOLVED = 'resolved'


class RaisedHand(Model):
    id = fields.IntField(primary_key=True)
    membership = fields.ForeignKeyField('models.WorkshopMembership', related_name='hands', on_delete=fields.CASCADE)
    message = fields.CharField(max_length=500, default='')
    state = fields.CharEnumField(HandState, max_length=16, default=HandState.RAISED)
    # the instructor or assistant on the way (the first to claim it); no database constraint: SQLite cannot add one
    # to an existing table
    claimed_by = fields.ForeignKeyField(
        'models.User', related_name='claimed_hands', null=True, on_delete=fields.SET_NULL, db_constraint=False
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = 'workshop_hands'


class Announcement(Model):
    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='announcements', on_delete=fields.CASCADE)
    author = fields.ForeignKeyField('models.User', related_name='announcements', null=True, on_delete=fields.SET_NULL)
    text = fields.CharField(max_length=2000)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'workshop_announcements'


class PrivateMessage(Model):
    """A message from an instructor or assistant to one attendee, shown to that attendee only."""

    id = fields.IntField(primary_key=True)
    workshop = fields.ForeignKeyField('models.Workshop', related_name='private_messages', on_delete=fields.CASCADE)
    sender = fields.ForeignKeyField('models.User', related_name='sent_messages', null=True, on_delete=fields.SET_NULL)
    recipient = fields.ForeignKeyField('models.User', related_name='received_messages', on_delete=fields.CASCADE)
    text = fields.CharField(max_length=1000)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = 'workshop_private_messages'
