"""Prompt templates: create, save as new versions, history, diff, roll back, visibility, fork, import and export."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from models import Prompt, PromptVersion, Visibility
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.core.i18n import N_
from services.core.sharing import Sharing, check_visibility, clean_tags
from services.models.callers import is_staff
from services.models.options import validate_options
from services.prompts.templates import Variable, check_consistency, parse_variables

EXPORT_FORMAT = 'ollama-workshop-prompt'
MAX_IMPORT_CHARS = 500_000
MAX_IMPORT_VERSIONS = 100


@dataclass(kw_only=True, slots=True)
class PromptDraft:
    """What the editor saves."""

    name: str
    description: str = ''
    tags: list[str] | str = field(default_factory=list)
    visibility: str = 'private'
    workshop_id: int | None = None
    system_template: str = ''
    user_template: str = ''
    variables: list[dict[str, Any]] = field(default_factory=list)
    default_model: str = ''
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(kw_only=True, slots=True)
class VersionInfo:
    number: int
    system_template: str
    user_template: str
    variables: list[Variable]
    default_model: str
    options: dict[str, Any]
    message: str
    created_at: datetime

    def variables_spec(self) -> list[dict[str, Any]]:
        return [v.to_dict() for v in self.variables]


@dataclass(kw_only=True, slots=True)
class PromptSummary:
    id: int
    name: str
    description: str
    tags: list[str]
    visibility: str
    workshop_id: int | None
    owner_id: int
    owner_name: str
    current_version: int
    updated_at: datetime


@dataclass(kw_only=True, slots=True)
class PromptDetail(PromptSummary):
    can_edit: bool
    forked_from_id: int | None
    current: VersionInfo
    versions: list[VersionInfo]


@dataclass(kw_only=True, slots=True)
class VersionDiff:
    a: int
    b: int
    unified: str
    rows: list[tuple[str, str, str]]  # (tag, left line, right line); tag in equal/replace/delete/insert


def _version(row: PromptVersion) -> VersionInfo:
    return VersionInfo(
        number=row.number,
        system_template=row.system_template,
        user_template=row.user_template,
        variables=parse_variables(row.variables),
        default_model=row.default_model,
        options=dict(row.options or {}),
        message=row.message,
        created_at=row.created_at,
    )


def _clean(draft: PromptDraft, *, staff: bool) -> dict[str, Any]:
    """A draft checked for saving; `staff` (an instructor or admin) may store host-level options."""
    name = ' '.join((draft.name or '').split())
    if not 1 <= len(name) <= 120:
        raise InvalidInput(N_('Give the prompt a name (1 to 120 characters).'))
    if len(draft.description or '') > 2000:
        raise InvalidInput(N_('The description is too long (at most 2000 characters).'))
    visibility, workshop_id = check_visibility(draft.visibility, draft.workshop_id)
    variables = parse_variables(draft.variables)
    check_consistency(draft.system_template, draft.user_template, variables)
    model = (draft.default_model or '').strip()
    if len(model) > 200:
        raise InvalidInput(N_('The model name is too long.'))
    return {
        'meta': {
            'name': name,
            'description': (draft.description or '').strip(),
            'tags': clean_tags(draft.tags),
            'visibility': visibility,
            'workshop_id': workshop_id,
        },
        'version': {
            'system_template': draft.system_template or '',
            'user_template': draft.user_template,
            'variables': [v.to_dict() for v in variables],
            'default_model': model,
            'options': validate_options(draft.options, staff=staff),
        },
    }


def version_text(version: VersionInfo) -> list[str]:
    """A readable, line-based form of a version for diffs."""
    lines = ['# system template', *version.system_template.splitlines()]
    lines += ['', '# user template', *version.user_template.splitlines()]
    lines += ['', '# variables', *json.dumps(version.variables_spec(), indent=2, ensure_ascii=False).splitlines()]
    lines += ['', f'# default model: {version.default_model or "(none)"}']
    lines += [f'# options: {json.dumps(version.options, sort_keys=True)}']
    return lines


class PromptService:
    def __init__(self, auth: AuthService, activity: ActivityService, sharing: Sharing) -> None:
        self.auth = auth
        self.activity = activity
        self.sharing = sharing

    # ----- reading -------------------------------------------------------------------------------------------------
    async def _visible(self, actor_id: int, prompt_id: int) -> Prompt:
        """The prompt if the actor (active, refreshed from the database) may see it, else NotFound."""
        user = await self.auth.require(actor_id)
        row = await Prompt.get_or_none(id=prompt_id).prefetch_related('owner')
        if row is None or not await self.sharing.can_see(user, row):
            raise NotFound(N_('No such prompt. It may have been deleted, or it is not shared with you.'))
        return row

    async def _owned(self, actor_id: int, prompt_id: int) -> Prompt:
        row = await self._visible(actor_id, prompt_id)
        if row.owner_id != actor_id:  # type: ignore[attr-defined]
            raise PermissionDenied(N_('Only the owner can change this prompt. Fork it to make your own copy.'))
        return row

    @staticmethod
    def _summary(row: Prompt, owner_name: str) -> dict[str, Any]:
        return {
            'id': row.id,
            'name': row.name,
            'description': row.description,
            'tags': list(row.tags or []),
            'visibility': str(row.visibility.value if isinstance(row.visibility, Visibility) else row.visibility),
            'workshop_id': row.workshop_id,
            'owner_id': row.owner_id,  # type: ignore[attr-defined]
            'owner_name': owner_name,
            'current_version': row.current_version,
            'updated_at': row.updated_at,
        }

    async def list_prompts(self, actor_id: int, search: str = '', *, mine_only: bool = False) -> list[PromptSummary]:
        user = await self.auth.require(actor_id)
        query = Prompt.filter(owner_id=actor_id) if mine_only else Prompt.filter(await self.sharing.visible_q(user))
        term = (search or '').strip()
        if term:
            query = query.filter(name__icontains=term)
        rows = await query.order_by('-updated_at').limit(500).prefetch_related('owner')
        return [PromptSummary(**self._summary(r, r.owner.display_name)) for r in rows]

    async def get(self, actor_id: int, prompt_id: int) -> PromptDetail:
        row = await self._visible(actor_id, prompt_id)
        versions = [_version(v) for v in await PromptVersion.filter(prompt_id=row.id).order_by('-number')]
        current = next((v for v in versions if v.number == row.current_version), versions[0])
        return PromptDetail(
            **self._summary(row, row.owner.display_name),
            can_edit=row.owner_id == actor_id,  # type: ignore[attr-defined]
            forked_from_id=row.forked_from_id,
            current=current,
            versions=versions,
        )

    async def version(self, actor_id: int, prompt_id: int, number: int | None = None) -> VersionInfo:
        row = await self._visible(actor_id, prompt_id)
        found = await PromptVersion.get_or_none(prompt_id=row.id, number=number or row.current_version)
        if found is None:
            raise NotFound(N_('Version {number} of this prompt does not exist.', number=number))
        return _version(found)

    # ----- writing -------------------------------------------------------------------------------------------------
    async def create(self, actor_id: int, draft: PromptDraft, message: str = '') -> PromptDetail:
        user = await self.auth.require(actor_id)
        clean = _clean(draft, staff=is_staff(user.role))
        await self.sharing.check_share(user, clean['meta']['visibility'], clean['meta']['workshop_id'])
        async with in_transaction():
            row = await Prompt.create(owner_id=actor_id, current_version=1, **clean['meta'])
            await PromptVersion.create(
                prompt=row, number=1, message=(message or 'Created')[:200], author_id=actor_id, **clean['version']
            )
        await self.activity.record(
            actor_id, actions.PROMPT_CREATE, prompt_id=row.id, variables=len(clean['version']['variables'])
        )
        return await self.get(actor_id, row.id)

    async def save(self, actor_id: int, prompt_id: int, draft: PromptDraft, message: str = '') -> PromptDetail:
        """Every save is a new version, which becomes current."""
        user = await self.auth.require(actor_id)
        row = await self._owned(actor_id, prompt_id)
        clean = _clean(draft, staff=is_staff(user.role))
        meta = clean['meta']
        await self.sharing.check_share(
            user, meta['visibility'], meta['workshop_id'], current=(row.visibility, row.workshop_id)
        )
        async with in_transaction():
            number = await self._next_number(row.id)
            await PromptVersion.create(
                prompt_id=row.id, number=number, message=(message or '')[:200], author_id=actor_id, **clean['version']
            )
            await Prompt.filter(id=row.id).update(current_version=number, **clean['meta'])
        return await self.get(actor_id, row.id)

    @staticmethod
    async def _next_number(prompt_id: int) -> int:
        last = await PromptVersion.filter(prompt_id=prompt_id).order_by('-number').first()
        return (last.number if last else 0) + 1

    async def set_current(self, actor_id: int, prompt_id: int, number: int) -> PromptDetail:
        row = await self._owned(actor_id, prompt_id)
        if not await PromptVersion.exists(prompt_id=row.id, number=number):
            raise NotFound(N_('Version {number} of this prompt does not exist.', number=number))
        await Prompt.filter(id=row.id).update(current_version=number)
        return await self.get(actor_id, row.id)

    async def rollback(self, actor_id: int, prompt_id: int, number: int) -> PromptDetail:
        """A new version with the content of an older one (history is never rewritten)."""
        row = await self._owned(actor_id, prompt_id)
        old = await PromptVersion.get_or_none(prompt_id=row.id, number=number)
        if old is None:
            raise NotFound(N_('Version {number} of this prompt does not exist.', number=number))
        async with in_transaction():
            new_number = await self._next_number(row.id)
            await PromptVersion.create(
                prompt_id=row.id,
                number=new_number,
                system_template=old.system_template,
                user_template=old.user_template,
                variables=old.variables,
                default_model=old.default_model,
                options=old.options,
                message=N_('Rolled back to version {number}', number=number),
                author_id=actor_id,
            )
            await Prompt.filter(id=row.id).update(current_version=new_number)
        return await self.get(actor_id, row.id)

    async def delete(self, actor_id: int, prompt_id: int) -> None:
        row = await self._owned(actor_id, prompt_id)
        await row.delete()

    async def diff(self, actor_id: int, prompt_id: int, a: int, b: int) -> VersionDiff:
        left, right = await self.version(actor_id, prompt_id, a), await self.version(actor_id, prompt_id, b)
        old, new = version_text(left), version_text(right)
        unified = '\n'.join(difflib.unified_diff(old, new, f'version {a}', f'version {b}', lineterm=''))
        rows: list[tuple[str, str, str]] = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
            span = max(i2 - i1, j2 - j1)
            for k in range(span):
                rows.append(
                    (tag, old[i1 + k] if i1 + k < i2 else '', new[j1 + k] if j1 + k < j2 else '')  # type: ignore[arg-type]
                )
        return VersionDiff(a=a, b=b, unified=unified or '(no differences)', rows=rows)

    async def fork(self, actor_id: int, prompt_id: int) -> PromptDetail:
        """Copy the current version of a prompt you can see into a new private prompt of your own."""
        source = await self._visible(actor_id, prompt_id)
        version = await PromptVersion.get(prompt_id=source.id, number=source.current_version)
        async with in_transaction():
            row = await Prompt.create(
                owner_id=actor_id,
                name=f'{source.name} (fork)'[:120],
                description=source.description,
                tags=list(source.tags or []),
                visibility=Visibility.PRIVATE,
                forked_from_id=source.id,
            )
            await PromptVersion.create(
                prompt=row,
                number=1,
                system_template=version.system_template,
                user_template=version.user_template,
                variables=version.variables,
                default_model=version.default_model,
                options=version.options,
                message=N_('Forked from "{name}" version {number}', name=source.name, number=version.number)[:200],
                author_id=actor_id,
            )
        await self.activity.record(
            actor_id, actions.PROMPT_CREATE, prompt_id=row.id, variables=len(version.variables or []), fork_of=source.id
        )
        return await self.get(actor_id, row.id)

    # ----- import / export ------------------------------------------------------------------------------------------
    async def export_json(self, actor_id: int, prompt_id: int) -> str:
        detail = await self.get(actor_id, prompt_id)
        data = {
            'format': EXPORT_FORMAT,
            'format_version': 1,
            'name': detail.name,
            'description': detail.description,
            'tags': detail.tags,
            'current_version': detail.current_version,
            'versions': [
                {
                    'number': v.number,
                    'system_template': v.system_template,
                    'user_template': v.user_template,
                    'variables': v.variables_spec(),
                    'default_model': v.default_model,
                    'options': v.options,
                    'message': v.message,
                }
                for v in sorted(detail.versions, key=lambda v: v.number)
            ],
        }
        return json.dumps(data, indent=2, ensure_ascii=False)

    async def import_json(self, actor_id: int, text: str | bytes) -> PromptDetail:
        """Create a private prompt from an export. Everything is validated before anything is stored."""
        user = await self.auth.require(actor_id)
        if isinstance(text, bytes):
            try:
                text = text.decode('utf-8')
            except UnicodeDecodeError:
                raise InvalidInput(
                    N_('The file is not UTF-8 text. Export a prompt here and import that file.')
                ) from None
        if len(text) > MAX_IMPORT_CHARS:
            raise InvalidInput(N_('The file is too large for a prompt export.'))
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(
                N_('This is not valid JSON ({msg} at line {lineno}).', msg=exc.msg, lineno=exc.lineno)
            ) from None
        if not isinstance(data, dict) or data.get('format') != EXPORT_FORMAT:
            raise InvalidInput(
                N_('This is not a prompt export (expected "format": "{EXPORT_FORMAT}").', EXPORT_FORMAT=EXPORT_FORMAT)
            )
        versions = data.get('versions')
        if not isinstance(versions, list) or not 1 <= len(versions) <= MAX_IMPORT_VERSIONS:
            raise InvalidInput(
                N_(
                    'A prompt export needs 1 to {MAX_IMPORT_VERSIONS} versions.',
                    MAX_IMPORT_VERSIONS=MAX_IMPORT_VERSIONS,
                )
            )
        cleaned: list[dict[str, Any]] = []
        meta: dict[str, Any] = {}
        for index, item in enumerate(versions, start=1):
            if not isinstance(item, dict):
                raise InvalidInput(N_('Version {index} of the export is not an object.', index=index))
            draft = PromptDraft(
                name=str(data.get('name') or ''),
                description=str(data.get('description') or ''),
                tags=data.get('tags') or [],
                system_template=str(item.get('system_template') or ''),
                user_template=str(item.get('user_template') or ''),
                variables=item.get('variables') or [],
                default_model=str(item.get('default_model') or ''),
                options=item.get('options') or {},
            )
            try:
                clean = _clean(draft, staff=is_staff(user.role))
            except InvalidInput as exc:
                raise InvalidInput(
                    N_('Version {index} of the export is not valid: {message}', index=index, message=exc.message)
                ) from None
            meta = clean['meta']
            cleaned.append({**clean['version'], 'message': str(item.get('message') or '')[:200]})
        current = data.get('current_version')
        current = current if isinstance(current, int) and 1 <= current <= len(cleaned) else len(cleaned)
        async with in_transaction():
            row = await Prompt.create(owner_id=actor_id, current_version=current, **meta)
            for number, version in enumerate(cleaned, start=1):
                await PromptVersion.create(prompt=row, number=number, author_id=actor_id, **version)
        await self.activity.record(
            actor_id,
            actions.PROMPT_CREATE,
            prompt_id=row.id,
            variables=len(cleaned[current - 1]['variables']),
            imported=True,
        )
        return await self.get(actor_id, row.id)
