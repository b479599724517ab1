"""Workshop templates: export a workshop to one file and import a file to create a new workshop.

Export (its managers): agenda, settings and shared resources; documents optionally (then a .zip). Import (instructors
and admins): the file is read and checked first (`services.workshops.template_format`), then a DRAFT workshop owned by
the importer is created with its steps, and the prompts, tools, knowledge bases (documents uploaded and an ingestion
job started) and RAG systems are created through the services that own them, owned by the importer and shared with
the new workshop. What could not be created is skipped and said why in the report; models no host has are reported.

Other workshop features add their own parts of the file with `register_section` (a top-level section) and
`register_step_field` (a field of each step); parts nobody registered are reported as skipped, never an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models import Role
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound, ServiceError
from services.core.i18n import N_
from services.knowledge.bases import KnowledgeService
from services.knowledge.ingest import IngestService
from services.knowledge.rag import DEFAULT_TEMPLATE, RagService
from services.models.catalogue import Catalogue
from services.models.errors import OllamaError
from services.prompts.library import PromptDraft, PromptService
from services.tools.library import ToolDraft, ToolService
from services.workshops import rules as workshop_rules
from services.workshops import template_export, template_format
from services.workshops.service import WorkshopService

log = logging.getLogger(__name__)

READY_DIR = Path(__file__).parent / 'ready_templates'
TOOL_KINDS = ('builtin', 'http', 'static')


@dataclass(kw_only=True, slots=True, frozen=True)
class ReadyTemplate:
    key: str
    title: str
    description: str
    steps: int


@dataclass(kw_only=True, slots=True)
class TemplateFile:
    filename: str
    media_type: str
    content: bytes
    notes: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class ReportItem:
    kind: str  # workshop, step, prompt, tool, knowledge, document, rag, section, field
    name: str
    link: str = ''
    note: str = ''  # created: what to know about it; skipped: why


@dataclass(kw_only=True, slots=True)
class ImportReport:
    workshop_id: int
    title: str
    link: str
    created: list[ReportItem] = field(default_factory=list)
    skipped: list[ReportItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(kw_only=True, slots=True)
class Extension:
    """A part of the file another feature owns. Section: export(actor_id, workshop_id) and import(actor_id,
    workshop_id, value, keys) where keys maps template keys to created ids by kind. Step field: export(actor_id,
    workshop_id, step_id) and import(actor_id, workshop_id, step_id, value). Export returns None to leave it out;
    import returns notes for the report (raise ServiceError to skip it with the reason)."""

    export: Callable[..., Awaitable[Any]]
    import_: Callable[..., Awaitable[list[str] | None]]


class WorkshopTemplates:
    def __init__(
        self,
        *,
        auth: AuthService,
        activity: ActivityService,
        workshops: WorkshopService,
        prompts: PromptService,
        tools: ToolService,
        knowledge: KnowledgeService,
        ingest: IngestService,
        rag: RagService,
        catalogue: Catalogue,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.workshops = workshops
        self.prompts = prompts
        self.tools = tools
        self.knowledge = knowledge
        self.ingest = ingest
        self.rag = rag
        self.catalogue = catalogue  # which models some host has (reported, never refused)
        self.sections: dict[str, Extension] = {}
        self.step_fields: dict[str, Extension] = {}
        self._ready: dict[str, bytes] | None = None  # the shipped templates by key, read on first use

    def register_section(self, name: str, extension: Extension) -> None:
        self.sections[name] = extension

    def register_step_field(self, name: str, extension: Extension) -> None:
        self.step_fields[name] = extension

    # ----- export --------------------------------------------------------------------------------------------------
    async def export(self, actor_id: int, workshop_id: int, *, include_documents: bool = False) -> TemplateFile:
        """The workshop as a template file (its managers): JSON, or a .zip with the documents."""
        await self.auth.require(actor_id, Role.INSTRUCTOR)
        info = await self.workshops.get(actor_id, workshop_id)
        if not info.can_manage:
            raise NotFound(N_('No such workshop.'))
        exported = await template_export.build(self, actor_id, info, include_documents=include_documents)
        content, kind = template_format.pack(exported.data, exported.documents)
        name = template_export.slug(info.title, set())
        await self.activity.record(
            actor_id, actions.WORKSHOP_TEMPLATE_EXPORT, workshop_id=workshop_id, documents=include_documents
        )
        return TemplateFile(
            filename=f'{name}.workshop.{kind}',
            media_type='application/zip' if kind == 'zip' else 'application/json',
            content=content,
            notes=exported.notes,
        )

    # ----- ready templates -----------------------------------------------------------------------------------------
    def ready(self) -> list[ReadyTemplate]:
        """The templates shipped with the platform (read once)."""
        out = []
        for key, content in self._ready_files().items():
            data = json.loads(content)
            ws = data.get('workshop', {})
            out.append(
                ReadyTemplate(
                    key=key,
                    title=ws.get('title', key),
                    description=ws.get('description', ''),
                    steps=len(data.get('steps', [])),
                )
            )
        return out

    async def import_ready(self, actor_id: int, key: str) -> ImportReport:
        content = self._ready_files().get(key)
        if content is None:
            raise NotFound(N_('No such ready template.'))
        return await self.import_file(actor_id, content)

    def _ready_files(self) -> dict[str, bytes]:
        if self._ready is None:
            self._ready = {path.stem: path.read_bytes() for path in sorted(READY_DIR.glob('*.json'))}
        return self._ready

    # ----- import --------------------------------------------------------------------------------------------------
    async def import_file(self, actor_id: int, data: bytes) -> ImportReport:
        """Create a DRAFT workshop from a template file (instructors and admins), with a report."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        template = template_format.read(data)  # everything checked before anything is created
        ws = template.workshop
        info = await self.workshops.create(
            user.id,
            ws['title'],
            ws['description'],
            allowed_models=ws['allowed_models'],
            stuck_minutes=ws['stuck_minutes'],
            attendees_may_share=ws['attendees_may_share'],
        )
        wid = info.id
        report = ImportReport(workshop_id=wid, title=info.title, link=f'/workshops/{wid}')
        report.created.append(ReportItem(kind='workshop', name=info.title, link=report.link, note=N_('a draft')))
        await self._steps(user.id, wid, template, report)
        keys: dict[str, dict[str, int]] = {'prompt': {}, 'tool': {}, 'knowledge': {}, 'rag': {}}
        for entry in template.prompts:
            await self._create(report, 'prompt', entry, keys, lambda e: self._prompt(user.id, wid, e))
        for entry in template.tools:
            await self._create(report, 'tool', entry, keys, lambda e: self._tool(user.id, wid, e))
        for entry in template.knowledge_bases:
            await self._create(report, 'knowledge', entry, keys, lambda e: self._kb(user.id, wid, e, report))
        for entry in template.rag_systems:
            await self._create(report, 'rag', entry, keys, lambda e: self._rag(user.id, wid, e, keys))
        for name, value in template.extra.items():
            await self._section(user.id, wid, name, value, keys, report)
        for path in template.unknown:
            report.skipped.append(
                ReportItem(kind='field', name=path, note=N_('this platform does not know this field'))
            )
        await self._check_models(template, report)
        await self.activity.record(
            user.id,
            actions.WORKSHOP_TEMPLATE_IMPORT,
            workshop_id=wid,
            created=len(report.created),
            skipped=len(report.skipped),
        )
        log.info('workshop %s imported from a template by %s', wid, user.id)
        return report

    async def _steps(self, actor_id: int, wid: int, template: template_format.Template, report: ImportReport) -> None:
        for i, (step, extra) in enumerate(zip(template.steps, template.step_extra, strict=True)):
            rule = step['rule']
            if rule and rule not in workshop_rules.RULES_BY_KEY:
                report.skipped.append(
                    ReportItem(
                        kind='field',
                        name=f'steps[{i}].rule',
                        note=N_('unknown completion rule "{rule}": the step is ticked manually', rule=rule),
                    )
                )
                rule = None
            created = await self.workshops.add_step(actor_id, wid, step['title'], step['instructions'], rule)
            report.created.append(ReportItem(kind='step', name=f'{i + 1}. {created.title}', link=f'/workshops/{wid}'))
            for name, value in extra.items():
                extension = self.step_fields.get(name)
                if extension is None:
                    report.skipped.append(
                        ReportItem(
                            kind='field',
                            name=f'steps[{i}].{name}',
                            note=N_('this platform does not know this step field'),
                        )
                    )
                    continue
                try:
                    notes = await extension.import_(actor_id, wid, created.id, value) or []
                    report.warnings += [N_('Step {i}, {name}: {n}', i=i + 1, name=name, n=n) for n in notes]
                except ServiceError as exc:
                    report.skipped.append(ReportItem(kind='field', name=f'steps[{i}].{name}', note=exc.message))

    async def _create(
        self,
        report: ImportReport,
        kind: str,
        entry: dict[str, Any],
        keys: dict[str, dict[str, int]],
        make: Callable[[dict[str, Any]], Awaitable[tuple[int, str, str]]],
    ) -> None:
        try:
            new_id, name, note = await make(entry)
        except ServiceError as exc:
            report.skipped.append(ReportItem(kind=kind, name=entry['name'], note=exc.message))
            return
        keys[kind][entry['key']] = new_id
        link = f'{workshop_rules.RESOURCE_KINDS[kind]}/{new_id}'
        report.created.append(ReportItem(kind=kind, name=name, link=link, note=note))

    async def _share(self, actor_id: int, wid: int, kind: str, entry: dict[str, Any], new_id: int, name: str) -> None:
        if entry['share']:
            await self.workshops.add_resource(actor_id, wid, kind, new_id, name)

    async def _prompt(self, actor_id: int, wid: int, e: dict[str, Any]) -> tuple[int, str, str]:
        draft = PromptDraft(
            name=e['name'],
            description=e['description'],
            tags=e['tags'],
            visibility='workshop',
            workshop_id=wid,
            system_template=e['system_template'],
            user_template=e['user_template'],
            variables=e['variables'],
            default_model=e['default_model'],
            options=e['options'],
        )
        detail = await self.prompts.create(actor_id, draft, 'Imported from a workshop template')
        await self._share(actor_id, wid, 'prompt', e, detail.id, detail.name)
        return detail.id, detail.name, ''

    async def _tool(self, actor_id: int, wid: int, e: dict[str, Any]) -> tuple[int, str, str]:
        if e['kind'] not in TOOL_KINDS:
            raise InvalidInput(
                N_(
                    'tool kind "{kind}" is not allowed here (only {TOOL_KINDS})',
                    kind=e['kind'],
                    TOOL_KINDS=', '.join(TOOL_KINDS),
                )
            )
        names = {t.name for t in await self.tools.list_tools(actor_id) if t.owner_id == actor_id}
        name, n = e['name'], 2
        while name in names:
            name, n = f'{e["name"][:60]}_{n}', n + 1
        draft = ToolDraft(
            name=name,
            description=e['description'],
            parameters=e['parameters'],
            kind=e['kind'],
            config=e['config'],
            visibility='workshop',
            workshop_id=wid,
        )
        tool = await self.tools.create(actor_id, draft)
        await self._share(actor_id, wid, 'tool', e, tool.id or 0, tool.name)
        notes = []
        if name != e['name']:
            notes.append(N_('renamed from "{name}": you already have a tool with that name', name=e['name']))
        if any(not v for v in (tool.config.get('headers') or {}).values()):
            notes.append(N_('set its header values (they are not part of templates)'))
        if tool.kind == 'http':
            notes.append(N_('HTTP calls reach only hosts an admin allowed'))
        return tool.id or 0, tool.name, '; '.join(notes)

    async def _kb(self, actor_id: int, wid: int, e: dict[str, Any], report: ImportReport) -> tuple[int, str, str]:
        kb = await self.knowledge.create_kb(
            actor_id,
            name=e['name'],
            embedding_model=e['embedding_model'],
            description=e['description'],
            visibility='workshop',
            workshop_id=wid,
            metric=e['metric'],
            splitter=e['splitter'],
            chunk_size=e['chunk_size'],
            chunk_overlap=e['chunk_overlap'],
        )
        await self._share(actor_id, wid, 'knowledge', e, kb.id, kb.name)
        files = [(d['name'], d['data']) for d in e['documents'] if d['data'] is not None]
        listed = [d['name'] for d in e['documents'] if d['data'] is None]
        for name in listed:
            report.skipped.append(
                ReportItem(
                    kind='document',
                    name=name,
                    link=f'/knowledge/{kb.id}',
                    note=N_('not in the file (exported without documents): upload it'),
                )
            )
        uploaded = 0
        step = max(1, self.knowledge.max_files)
        for start in range(0, len(files), step):
            for result in await self.knowledge.upload(actor_id, kb.id, files[start : start + step]):
                if result.ok:
                    uploaded += 1
                    report.created.append(ReportItem(kind='document', name=result.name, link=f'/knowledge/{kb.id}'))
                else:
                    report.skipped.append(ReportItem(kind='document', name=result.name, note=result.message))
        if not uploaded:
            return kb.id, kb.name, 'no documents yet'
        try:
            await self.ingest.start(actor_id, kb.id)
        except ServiceError as exc:
            return (
                kb.id,
                kb.name,
                N_('{uploaded} document(s); ingestion not started: {message}', uploaded=uploaded, message=exc.message),
            )
        return kb.id, kb.name, N_('{uploaded} document(s), ingestion started', uploaded=uploaded)

    async def _rag(
        self, actor_id: int, wid: int, e: dict[str, Any], keys: dict[str, dict[str, int]]
    ) -> tuple[int, str, str]:
        missing = [k for k in e['knowledge_bases'] if k not in keys['knowledge']]
        if missing:
            raise InvalidInput(N_('its knowledge base "{missing}" was not created', missing=missing[0]))
        rag = await self.rag.create(
            actor_id,
            name=e['name'],
            kb_ids=[keys['knowledge'][k] for k in e['knowledge_bases']],
            embedding_model=e['embedding_model'] or None,
            chat_model=e['chat_model'],
            prompt_template=e['prompt_template'] or DEFAULT_TEMPLATE,
            top_k=e['top_k'],
            threshold=e['threshold'],
            visibility='workshop',
            workshop_id=wid,
        )
        await self._share(actor_id, wid, 'rag', e, rag.id, rag.name)
        return rag.id, rag.name, ''

    async def _section(
        self, actor_id: int, wid: int, name: str, value: Any, keys: dict[str, dict[str, int]], report: ImportReport
    ) -> None:
        extension = self.sections.get(name)
        if extension is None:
            report.skipped.append(ReportItem(kind='section', name=name, note=f'unknown section "{name}"'))
            return
        try:
            notes = await extension.import_(actor_id, wid, value, keys) or []
        except ServiceError as exc:
            report.skipped.append(ReportItem(kind='section', name=name, note=exc.message))
            return
        report.created.append(ReportItem(kind='section', name=name, note='; '.join(notes)))

    async def _check_models(self, template: template_format.Template, report: ImportReport) -> None:
        """Models no host has are reported (the workshop is created anyway: pull them before it starts)."""
        wanted = list(template.workshop['allowed_models'])
        wanted += [p['default_model'] for p in template.prompts if p['default_model']]
        wanted += [kb['embedding_model'] for kb in template.knowledge_bases]
        wanted += [m for r in template.rag_systems for m in (r['chat_model'], r['embedding_model']) if m]
        if not wanted:
            return
        if self.catalogue.view().loading:
            try:
                await self.catalogue.refresh()
            except OllamaError as exc:
                report.warnings.append(
                    N_('The model hosts could not be asked which models they have: {message}', message=exc.message)
                )
                return
        for model in dict.fromkeys(wanted):
            if self.catalogue.known(model) is None:
                report.warnings.append(
                    N_(
                        'The model "{model}" is on no host yet: pull it on the Models page before the workshop starts.',
                        model=model,
                    )
                )
