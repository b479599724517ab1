"""Workshop templates through the services: the ready template, export -> import round trips, refused files with
messages naming the bad field, skipped parts reported, permissions."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from nicegui.testing import User

from services.core.errors import InvalidInput, NotFound, PermissionDenied
from services.prompts.library import PromptDraft
from services.tools.library import ToolDraft
from services.wiring import Services
from services.workshops.template_format import MAX_FILE_BYTES
from services.workshops.templates import Extension

EMBED = 'nomic-embed-text:latest'
SECRET = 'secret-123'
ZIPPED_DOC = {'name': 'a.md', 'file': 'x'}


async def _accounts(make_account) -> tuple[int, int, int]:
    await make_account('admin@example.org', 'Admin')
    teacher = await make_account('teach@example.org', 'Teacher', role='instructor')
    other = await make_account('other@example.org', 'Other', role='instructor')
    return teacher, other, await make_account('ann@example.org', 'Ann')


def _minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        'format': 'owp-workshop-template',
        'version': 1,
        'workshop': {'title': 'Tiny'},
        'steps': [{'title': 'One', 'instructions': 'Do it', 'rule': 'chat'}],
    }
    data.update(changes)
    return data


def _bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


async def _rich_workshop(services: Services, teacher: int) -> int:
    """A workshop with steps and one of each shared resource (a knowledge base with two documents)."""
    ws = services.workshops
    info = await ws.create(teacher, 'Prompting day', 'All *about* prompts', allowed_models=['llama3.2'],
                           stuck_minutes=7, attendees_may_share=True)  # fmt: skip
    await ws.add_step(teacher, info.id, 'Hello', 'Say hello', 'chat')
    await ws.add_step(teacher, info.id, 'Variables', 'Make a prompt', 'prompt_variable')
    await ws.add_step(teacher, info.id, 'Reflect', 'Tick when done')
    prompt = await services.prompts.create(teacher, PromptDraft(
        name='Haiku', user_template='A haiku about {{topic}}', variables=[{'name': 'topic', 'type': 'text'}],
        default_model='llama3.2', options={'temperature': 0.5}, tags=['poetry']))  # fmt: skip
    static = await services.tools.create(teacher, ToolDraft(
        name='menu', description='Today\'s menu', config={'response': {'soup': 'tomato'}}))  # fmt: skip
    http = await services.tools.create(teacher, ToolDraft(
        name='weather', description='The weather in a city', kind='http',
        parameters={'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']},
        config={'method': 'GET', 'url': 'https://example.org/w/{city}', 'headers': {'X-Key': SECRET}}))  # fmt: skip
    kb = await services.knowledge.create_kb(teacher, name='Camelids', embedding_model=EMBED, chunk_size=128,
                                            chunk_overlap=16)  # fmt: skip
    await services.knowledge.upload(teacher, kb.id, [('llamas.md', b'# Llamas\n\nLlamas carry packs.'),
                                                     ('alpacas.txt', b'Alpacas give wool.')])  # fmt: skip
    rag = await services.rag.create(teacher, name='Ask camelids', kb_ids=[kb.id], chat_model='llama3.2', top_k=3)
    for kind, rid, label in (('prompt', prompt.id, 'Haiku'), ('tool', static.id, 'menu'), ('tool', http.id, 'w'),
                             ('knowledge', kb.id, 'Camelids'), ('rag', rag.id, 'Ask')):  # fmt: skip
        await ws.add_resource(teacher, info.id, kind, rid, label)
    return info.id


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data.pop('exported_at')
    for kb in data['knowledge_bases']:
        for doc in kb['documents']:
            doc.pop('file', None)
    return data


def _unzip(content: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    archive = zipfile.ZipFile(io.BytesIO(content))
    files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop('workshop.json')), files


async def test_the_ready_template_creates_a_draft_workshop_with_everything(
    user: User, services: Services, make_account
) -> None:
    teacher, _, _ = await _accounts(make_account)
    [ready] = services.templates.ready()
    assert ready.title == 'Introduction to local LLMs with Ollama' and 6 <= ready.steps <= 8
    report = await services.templates.import_ready(teacher, ready.key)
    info = await services.workshops.get(teacher, report.workshop_id)
    assert info.state == 'draft' and info.owner_id == teacher and info.title == ready.title
    assert [s.title for s in info.steps][:2] == ['Your first chat', 'Parameters: temperature and friends']
    assert info.steps[0].rule_label == 'ran a chat with a model' and info.steps[-1].rule_label == 'voted in the arena'
    # the teaching tools' parts: checks, the result a step asks for, pacing and the arena's models
    assert [c['kind'] for s in info.steps for c in s.checks] == ['tool_call', 'rag_cites']
    assert await services.workshops.gallery_asks(teacher, info.id) == {info.steps[1].id: 'answer'}
    assert (await services.workshops.pace_of(teacher, info.id)).mode == 'paced'
    assert (await services.workshops.arena_models(teacher, info.id))[0] == ['llama3.2:latest', 'qwen3:0.6b']
    assert {(i.kind, i.name) for i in report.created} >= {('section', 'pacing'), ('section', 'arena')}
    assert sorted(r.kind for r in info.resources) == ['knowledge', 'prompt', 'rag', 'tool']
    assert report.skipped == [] and report.warnings == []  # the test Ollama has llama3.2 and nomic-embed-text
    assert {i.kind for i in report.created} >= {'workshop', 'step', 'prompt', 'tool', 'knowledge', 'document', 'rag'}
    kb = next(r for r in info.resources if r.kind == 'knowledge')
    assert len(await services.knowledge.list_documents(teacher, kb.resource_id)) == 3
    job = await services.ingest.latest(teacher, kb.resource_id)
    assert job is not None
    done = await services.ingest.wait(job.job_id)
    assert done.state == 'done' and done.chunks_done > 0
    rag = next(r for r in info.resources if r.kind == 'rag')
    assert (await services.rag.get(teacher, rag.resource_id)).kb_ids == [kb.resource_id]
    links = [i.link for i in report.created if i.kind in ('prompt', 'tool', 'knowledge', 'rag')]
    assert links == [f'/prompts/{r}' for r in [*[x.resource_id for x in info.resources if x.kind == 'prompt']]] + [
        f'/tools/{next(x.resource_id for x in info.resources if x.kind == "tool")}',
        f'/knowledge/{kb.resource_id}',
        f'/rag/{rag.resource_id}',
    ]


async def test_export_then_import_gives_the_same_workshop(user: User, services: Services, make_account) -> None:
    teacher, other, _ = await _accounts(make_account)
    wid = await _rich_workshop(services, teacher)
    plain = await services.templates.export(teacher, wid)
    assert plain.media_type == 'application/json' and plain.filename == 'prompting-day.workshop.json'
    assert any('header values of the HTTP tool "weather"' in n for n in plain.notes)
    assert b'secret-123' not in plain.content
    first, documents = _unzip((await services.templates.export(teacher, wid, include_documents=True)).content)
    assert sorted(documents.values()) == [b'# Llamas\n\nLlamas carry packs.', b'Alpacas give wool.']

    zipped = await services.templates.export(teacher, wid, include_documents=True)
    report = await services.templates.import_file(other, zipped.content)
    assert report.skipped == []
    assert any(i.kind == 'knowledge' and 'ingestion started' in i.note for i in report.created)
    assert any(i.kind == 'tool' and 'header values' in i.note for i in report.created)
    again = await services.templates.export(other, report.workshop_id, include_documents=True)
    second, documents_again = _unzip(again.content)
    assert _comparable(second) == _comparable(first)
    assert sorted(documents_again.values()) == sorted(documents.values())
    info = await services.workshops.get(other, report.workshop_id)
    assert info.state == 'draft' and info.owner_id == other and info.stuck_minutes == 7 and info.attendees_may_share

    # without documents, a knowledge base comes with its document names: reported as skipped, nothing ingested
    report = await services.templates.import_file(other, plain.content)
    assert sorted(i.name for i in report.skipped if i.kind == 'document') == ['alpacas.txt', 'llamas.md']
    assert any(i.kind == 'knowledge' and i.note == 'no documents yet' for i in report.created)
    # the same instructor importing again: the tool names are already taken, so the new ones are renamed
    tools = [i for i in report.created if i.kind == 'tool']
    assert [t.name for t in tools] == ['menu_2', 'weather_2'] and 'renamed from "menu"' in tools[0].note


@pytest.mark.parametrize(
    ('data', 'message'),
    [
        (b'', 'The file is empty'),
        (b'\xff\xfe garbage', 'neither UTF-8 JSON nor a .zip'),
        (b'{"format": ', 'This is not valid JSON'),
        (b'[' * 200_000, 'nested too deeply'),
        (_bytes({'format': 'ollama-workshop-prompt'}), 'This is not a workshop template'),
        (_bytes(_minimal(version=2)), 'This template has version 2; this platform reads version 1'),
        (_bytes(_minimal(workshop={'title': ''})), 'workshop.title: is missing'),
        (_bytes(_minimal(workshop={'title': 'T', 'stuck_minutes': 999})), 'workshop.stuck_minutes: must be a whole'),
        (_bytes(_minimal(steps=[{'title': 'A'}, {'instructions': 'no title'}])), 'steps[1].title: is missing'),
        (_bytes(_minimal(steps={'title': 'A'})), 'steps: must be a list'),
        (_bytes(_minimal(prompts=[{'name': 'P', 'variables': 'x'}])), 'prompts[0].variables: must be a list'),
        (
            _bytes(_minimal(rag_systems=[{'name': 'R', 'chat_model': 'm', 'knowledge_bases': ['nope']}])),
            'rag_systems[0].knowledge_bases: "nope" is not the key',
        ),
        (
            _bytes(_minimal(knowledge_bases=[{'name': 'K', 'embedding_model': 'e', 'documents': [ZIPPED_DOC]}])),
            'knowledge_bases[0].documents[0].file: "x" is not in the .zip',
        ),
        (b'PK\x03\x04broken', 'The .zip file is damaged'),
        (b' ' * (MAX_FILE_BYTES + 1), 'too large for a workshop template'),
    ],
)
async def test_bad_files_are_refused_with_clear_messages(
    user: User, services: Services, make_account, data: bytes, message: str
) -> None:
    teacher, _, _ = await _accounts(make_account)
    with pytest.raises(InvalidInput) as refused:
        await services.templates.import_file(teacher, data)
    assert message in refused.value.message
    assert await services.workshops.list_for(teacher) == []  # nothing was created


async def test_a_zip_without_workshop_json_is_refused(user: User, services: Services, make_account) -> None:
    teacher, _, _ = await _accounts(make_account)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        archive.writestr('other.json', '{}')
    with pytest.raises(InvalidInput, match=r'The \.zip has no workshop\.json'):
        await services.templates.import_file(teacher, buffer.getvalue())


async def test_unknown_parts_are_skipped_and_reported(user: User, services: Services, make_account) -> None:
    teacher, _, _ = await _accounts(make_account)
    data = _minimal(
        quiz={'questions': 3},
        arena={'models': ['a', 'b']},
        workshop={'title': 'Tiny', 'pacing': 'paced', 'allowed_models': ['no-such-model:7b']},
        steps=[
            {'title': 'One', 'rule': 'chat', 'hints': ['x'], 'checks': [{'regex': 'x'}]},
            {'title': 'Two', 'rule': 'dance'},
        ],
        tools=[{'name': 'run_python', 'description': 'Runs code', 'kind': 'python'}],
    )
    report = await services.templates.import_file(teacher, _bytes(data))
    skipped = {(i.kind, i.name): i.note for i in report.skipped}
    assert skipped[('section', 'quiz')] == 'unknown section "quiz"'
    assert ('field', 'workshop.pacing') in skipped  # pacing is a section of its own, not a workshop field
    assert skipped[('field', 'steps[0].hints')] == 'this platform does not know this step field'
    # known parts with values their service refuses are skipped with its reason
    assert skipped[('field', 'steps[0].checks')] == 'checks[1]: Unknown kind of check. Pick one from the list.'
    assert skipped[('section', 'arena')].startswith('Not allowed in this workshop: a:latest, b:latest.')
    assert 'unknown completion rule "dance"' in skipped[('field', 'steps[1].rule')]
    assert 'tool kind "python" is not allowed' in skipped[('tool', 'run_python')]
    assert report.warnings == [
        'The model "no-such-model:7b" is on no host yet: pull it on the Models page before the workshop starts.'
    ]
    info = await services.workshops.get(teacher, report.workshop_id)  # created anyway
    assert [s.title for s in info.steps] == ['One', 'Two'] and info.allowed_models == ['no-such-model:7b']


async def test_only_instructors_import_and_only_managers_export(user: User, services: Services, make_account) -> None:
    teacher, other, ann = await _accounts(make_account)
    with pytest.raises(PermissionDenied):
        await services.templates.import_file(ann, _bytes(_minimal()))
    with pytest.raises(PermissionDenied):
        await services.templates.import_ready(ann, 'intro-to-local-llms')
    report = await services.templates.import_file(teacher, _bytes(_minimal()))
    with pytest.raises(NotFound):
        await services.templates.export(other, report.workshop_id)
    await services.workshops.start(teacher, report.workshop_id)
    code = (await services.workshops.get(teacher, report.workshop_id)).join_code
    await services.workshops.join(code, user_id=ann)
    with pytest.raises(PermissionDenied):
        await services.templates.export(ann, report.workshop_id)
    await services.workshops.add_co_instructor(teacher, report.workshop_id, 'other@example.org')
    assert (await services.templates.export(other, report.workshop_id)).content
    with pytest.raises(NotFound):
        await services.templates.import_ready(teacher, '../../app')


async def test_other_features_add_their_own_parts(user: User, services: Services, make_account) -> None:
    """A section and a step field registered by another feature travel in the file and are imported by it."""
    teacher, other, _ = await _accounts(make_account)
    stored: dict[str, Any] = {}

    async def export_arena(actor_id: int, workshop_id: int) -> Any:
        return stored.get(workshop_id)

    async def import_arena(actor_id: int, workshop_id: int, value: Any, keys: dict) -> list[str]:
        if not isinstance(value, dict):
            raise InvalidInput('arena: must be an object')
        stored[workshop_id] = value
        return ['2 models']

    async def export_checks(actor_id: int, workshop_id: int, step_id: int) -> Any:
        return stored.get(f'step {step_id}')

    async def import_checks(actor_id: int, workshop_id: int, step_id: int, value: Any) -> list[str]:
        stored[f'step {step_id}'] = value
        return []

    templates = services.templates
    templates.register_section('quiz', Extension(export=export_arena, import_=import_arena))
    templates.register_step_field('hints', Extension(export=export_checks, import_=import_checks))
    try:
        data = _minimal(quiz={'models': ['a', 'b']}, steps=[{'title': 'One', 'hints': [{'regex': 'x'}]}])
        report = await templates.import_file(teacher, _bytes(data))
        assert report.skipped == [] and ('section', 'quiz', '2 models') in {
            (i.kind, i.name, i.note) for i in report.created
        }
        exported = json.loads((await templates.export(teacher, report.workshop_id)).content)
        assert exported['quiz'] == {'models': ['a', 'b']} and exported['steps'][0]['hints'] == [{'regex': 'x'}]
        refused = await templates.import_file(other, _bytes({**data, 'quiz': 'both'}))
        assert [(i.kind, i.name, i.note) for i in refused.skipped] == [('section', 'quiz', 'arena: must be an object')]
    finally:
        templates.sections.pop('quiz')
        templates.step_fields.pop('hints')
