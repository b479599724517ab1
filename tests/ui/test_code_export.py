"""'Show as Python': each script is made through the services, written to a temporary folder and RUN (a subprocess of
this interpreter) against the Ollama test server; hostile values still make valid, formatted scripts; only what a
user can read can be exported."""

from __future__ import annotations

import ast
import asyncio
import io
import os
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from nicegui.testing import User

from services.chat.code_export import conversation_script
from services.chat.types import ChatSettings, ConversationView
from services.core.code_export import Script, literal
from services.core.errors import InvalidInput, NotFound
from services.knowledge.code_export import rag_script
from services.knowledge.rag import RagInfo
from services.prompts.code_export import prompt_script
from services.prompts.library import PromptDraft, VersionInfo
from services.prompts.templates import parse_variables
from services.tools.code_export import function_name, tool_script
from services.tools.library import ToolDraft, ToolInfo
from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]
EMBED = 'nomic-embed-text:latest'
CHAT = 'llama3.2:latest'
DOCS = {
    'llamas.md': 'Llamas carry heavy packs across the Andes mountains.',
    'salmon.txt': 'Salmon swim upstream to spawn in cold rivers.',
    'notes/volcano.md': 'Volcanoes erupt molten lava and ash.',
}
# quotes, triple quotes of both kinds, backslashes, escapes that are not escapes, newlines, braces
HOSTILE = 'He said "hi" \'it\'s\' """ \'\'\' \\ \\n \\" end\nnext line {x} {{y}} \x00? \u2028 done'
PROMPT_HOSTILE = HOSTILE.replace('{{y}}', '{y}')  # a prompt template has only its declared {{variables}}


async def run(made: Script, folder: Path, server: OllamaTestServer, *args: str) -> subprocess.CompletedProcess:
    """Write the script into `folder` and run it with this interpreter, OLLAMA_HOST set to the test server."""
    path = folder / made.filename
    await asyncio.to_thread(_write, path, made.code)
    env = {**os.environ, 'OLLAMA_HOST': server.url}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(path), *args],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write(path: Path, code: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(code, encoding='utf-8')


def chats(server: OllamaTestServer, model: str | None = None) -> list[dict]:
    """The bodies of the /api/chat requests the test server received (for `model`)."""
    bodies = [r['body'] for r in server.requests if r['path'] == '/api/chat' and isinstance(r['body'], dict)]
    return [b for b in bodies if model is None or b.get('model') == model]


def assert_valid(made: Script) -> None:
    """The script compiles and is laid out as `ruff format` (the project's settings) would lay it out."""
    compile(made.code, made.filename, 'exec')
    assert made.filename.endswith('.py') and made.filename.replace('_', 'a').removesuffix('.py').isalnum()
    assert made.code.startswith('"""') and "if __name__ == '__main__':\n    main()\n" in made.code
    formatted = subprocess.run(
        [sys.executable, '-m', 'ruff', 'format', '--stdin-filename', 'script.py', '-'],
        input=made.code,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if formatted.returncode == 0:  # ruff is a development tool: where it is installed, the script is formatted
        assert formatted.stdout == made.code


@pytest.fixture
async def ada(services: Services, make_account) -> int:
    return await make_account('ada@example.org', 'Ada')


@pytest.fixture
async def bob(services: Services, make_account, ada: int) -> int:
    return await make_account('bob@example.org', 'Bob')


# ----- a RAG system: LlamaIndex + ollama, with its documents in a zip ------------------------------------------------
async def test_rag_script_runs_with_the_documents_of_its_zip(
    services: Services, ada: int, bob: int, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    kb = await services.knowledge.create_kb(ada, name='Nature', embedding_model=EMBED, chunk_size=256, chunk_overlap=32)
    await services.knowledge.upload(ada, kb.id, [(n, t.encode()) for n, t in DOCS.items()])
    template = 'Context first.\n{context}\n\nQuestion: {question}\n' + HOSTILE
    rag = await services.rag.create(
        ada, name=HOSTILE, kb_ids=[kb.id], chat_model=CHAT, top_k=2, prompt_template=template
    )

    made = await services.scripts.rag.script(ada, rag.id)
    assert_valid(made)
    assert 'CHUNK_SIZE = 256' in made.code and 'CHUNK_OVERLAP = 32' in made.code and 'TOP_K = 2' in made.code
    assert 'SentenceSplitter(chunk_size=CHUNK_SIZE' in made.code and 'OllamaEmbedding(' in made.code
    name, data = await services.scripts.rag.bundle(ada, rag.id)
    assert name == made.filename.removesuffix('.py') + '.zip'
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == sorted(
            [made.filename, 'documents/llamas.md', 'documents/salmon.txt', 'documents/volcano.md']
        )
        archive.extractall(tmp_path)

    ollama_server.requests.clear()
    done = await run(made, tmp_path, ollama_server, 'Which animals carry packs across the Andes?')
    assert done.returncode == 0, done.stderr
    # the test model echoes the start of the prompt: the template, then the first (best) passage with its file
    assert 'You said: Context first. [1] (llamas.md) Llamas' in done.stdout
    assert '[1] llamas.md (score' in done.stdout
    [answer] = chats(ollama_server, CHAT)
    prompt = answer['messages'][0]['content']
    assert prompt.endswith('Question: Which animals carry packs across the Andes?\n' + HOSTILE)
    embedded = [r['body'] for r in ollama_server.requests if r['path'] == '/api/embed']
    assert embedded and all(b['model'] == EMBED for b in embedded)

    other = tmp_path / 'own'  # the attendee's own folder of documents, given with --documents
    (other / 'docs').mkdir(parents=True)
    (other / 'docs' / 'bees.txt').write_text('Bees make honey from nectar.', encoding='utf-8')
    again = await run(made, other, ollama_server, 'What do bees make?', '--documents', str(other / 'docs'))
    assert again.returncode == 0, again.stderr
    assert '[1] (bees.txt) Bees make.' in again.stdout and '[1] bees.txt (score' in again.stdout

    for call in (lambda: services.scripts.rag.script(bob, rag.id), lambda: services.scripts.rag.bundle(bob, rag.id)):
        with pytest.raises(NotFound):
            await call()


# ----- a playground conversation: the ollama client ------------------------------------------------------------------
async def test_conversation_script_replays_the_conversation(
    services: Services, ada: int, bob: int, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    settings = {'options': {'temperature': 0.3, 'seed': 4, 'stop': []}, 'think': False}
    conversation = await services.chat.create_conversation(ada, CHAT, HOSTILE, settings)
    async for _ in services.chat.send(ada, conversation.id, 'Tell me about llamas ' + HOSTILE):
        pass
    made = await services.scripts.chat.script(ada, conversation.id)
    assert_valid(made)

    ollama_server.requests.clear()
    done = await run(made, tmp_path, ollama_server, 'And what about alpacas?')
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('You said: And what about alpacas.')
    [sent] = chats(ollama_server)
    assert sent['model'] == CHAT and sent['options'] == {'temperature': 0.3, 'seed': 4} and sent['think'] is False
    assert [m['role'] for m in sent['messages']] == ['system', 'user', 'assistant', 'user']
    assert sent['messages'][0]['content'] == HOSTILE
    assert sent['messages'][1]['content'] == 'Tell me about llamas ' + HOSTILE
    assert sent['messages'][2]['content'].startswith('You said: Tell me about llamas')

    again = await run(made, tmp_path, ollama_server)  # no new message: the last question again
    assert again.returncode == 0 and again.stdout.startswith('You said: Tell me about llamas He')

    with pytest.raises(NotFound):
        await services.scripts.chat.script(bob, conversation.id)
    with pytest.raises(InvalidInput, match='Send a first message'):
        await services.scripts.chat.script(ada, None)


# ----- a prompt template: variables from the command line -----------------------------------------------------------
async def test_prompt_script_fills_the_variables_from_the_command_line(
    services: Services, ada: int, bob: int, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    draft = PromptDraft(
        name=HOSTILE[:100],
        system_template='You are a poet with a {{tone}} tone. ' + PROMPT_HOSTILE,
        user_template='Write a haiku about {{topic}} for {{reader}}. ' + PROMPT_HOSTILE,
        variables=[
            {'name': 'topic', 'type': 'text', 'default': 'llamas', 'label': '100% the "subject"'},
            {'name': 'tone', 'type': 'choice', 'choices': ['calm', 'wild']},
            {'name': 'reader', 'type': 'text'},
        ],
        default_model=CHAT,
        options={'temperature': 0.7},
    )
    prompt = await services.prompts.create(ada, draft)
    made = await services.scripts.prompts.script(ada, prompt.id)
    assert_valid(made)

    ollama_server.requests.clear()
    done = await run(made, tmp_path, ollama_server, '--tone', 'wild', '--reader', 'Bob {{topic}}')
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('You said: Write a haiku about llamas for')
    [sent] = chats(ollama_server, CHAT)
    assert sent['options'] == {'temperature': 0.7}
    assert sent['messages'][0] == {'role': 'system', 'content': 'You are a poet with a wild tone. ' + PROMPT_HOSTILE}
    # a value is never scanned for placeholders again, as on the platform
    assert sent['messages'][1]['content'] == 'Write a haiku about llamas for Bob {{topic}}. ' + PROMPT_HOSTILE

    missing = await run(made, tmp_path, ollama_server, '--tone', 'calm')  # reader has no default
    assert missing.returncode == 2 and '--reader' in missing.stderr
    wrong = await run(made, tmp_path, ollama_server, '--tone', 'loud', '--reader', 'x')
    assert wrong.returncode == 2 and 'invalid choice' in wrong.stderr
    helped = await run(made, tmp_path, ollama_server, '--help')
    assert helped.returncode == 0 and '100% the "subject"' in helped.stdout

    with pytest.raises(NotFound):
        await services.scripts.prompts.script(bob, prompt.id)


# ----- a tool: ollama tool calling ----------------------------------------------------------------------------------
async def test_tool_scripts_offer_the_tool_and_run_its_calls(
    services: Services, ada: int, bob: int, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    parameters = {
        'type': 'object',
        'properties': {'city': {'type': 'string', 'description': 'The city ' + HOSTILE}},
        'required': ['city'],
    }
    static = await services.tools.create(
        ada,
        ToolDraft(
            name='get_weather',
            description='The weather in a city. ' + HOSTILE,
            parameters=parameters,
            kind='static',
            config={'response': {'temp_c': 21, 'sky': HOSTILE}},
        ),
    )
    made = await services.scripts.tools.script(ada, static.ref)
    assert_valid(made)
    ollama_server.requests.clear()
    done = await run(made, tmp_path, ollama_server, 'call get_weather {"city": "Lima"}')
    assert done.returncode == 0, done.stderr
    assert 'get_weather({"city": "Lima"}) -> {"temp_c": 21' in done.stdout
    assert 'The tool get_weather returned: {"temp_c": 21' in done.stdout
    first, second = chats(ollama_server)
    assert first['tools'] == [static.spec()]  # the tool's JSON schema is the tool definition
    assert second['messages'][-1]['role'] == 'tool' and '"temp_c": 21' in second['messages'][-1]['content']

    http = await services.tools.create(
        ada,
        ToolDraft(
            name='server_version',
            description='The version of a server',
            parameters={'type': 'object', 'properties': {'tag': {'type': 'string'}}, 'required': ['tag']},
            kind='http',
            config={
                'method': 'GET',
                'url': f'{ollama_server.url}/api/version?tag={{tag}}',
                'headers': {'X-Api-Key': 'secret-key-123', 'Accept': 'application/json'},
            },
        ),
    )
    made = await services.scripts.tools.script(ada, http.ref)
    assert_valid(made)
    assert 'secret-key-123' not in made.code and "'X-Api-Key': '<your X-Api-Key value>'" in made.code
    ollama_server.requests.clear()
    done = await run(made, tmp_path, ollama_server, 'call server_version {"tag": "a b/c"}')
    assert done.returncode == 0, done.stderr
    assert 'server_version({"tag": "a b/c"}) -> {"version":' in done.stdout
    assert [r['path'] for r in ollama_server.requests] == ['/api/chat', '/api/version', '/api/chat']

    builtin = await services.scripts.tools.script(bob, 'builtin:calculator')  # the built-ins: everyone
    assert_valid(builtin)
    done = await run(builtin, tmp_path, ollama_server)
    assert done.returncode == 0, done.stderr
    assert 'calculator({"expression": "test"}) -> {"note": "A stand-in' in done.stdout

    for ref in (static.ref, http.ref, 'tool:9999'):
        with pytest.raises(NotFound):
            await services.scripts.tools.script(bob, ref)
    with pytest.raises(InvalidInput, match='no built-in tool'):
        await services.scripts.tools.script(bob, 'builtin:nonexistent')


# ----- hostile values ------------------------------------------------------------------------------------------------
VALUES = [
    HOSTILE,
    '',
    '"""',
    "'''",
    '\\',
    'a\\',
    '\n\n\n',
    '\r\n\t\x1b',
    'x' * 500,
    ('word "quoted" \'single\' ' * 30 + '\n') * 4,
    {'nested': [HOSTILE, {'deep': [1, 2.5, True, None, HOSTILE * 3]}], HOSTILE: 'key'},
    [],
    {},
]


@pytest.mark.parametrize('value', VALUES)
def test_literal_is_the_value_itself(value) -> None:
    for column in (0, 20, 100):
        source = literal(value, column)
        assert ast.literal_eval(source) == value


def test_hostile_values_make_valid_scripts() -> None:
    version = VersionInfo(
        number=1,
        system_template=PROMPT_HOSTILE + ' {{tone}} {{print}} {{model_name}}',
        user_template='"""{{topic}}""" ' + PROMPT_HOSTILE,
        variables=parse_variables(
            [
                {'name': 'topic', 'type': 'text', 'default': HOSTILE, 'label': HOSTILE},
                {'name': 'tone', 'type': 'choice', 'choices': [HOSTILE, '"""']},
                {'name': 'print', 'type': 'yes_no'},
                {'name': 'model_name', 'type': 'number', 'default': 3},
            ]
        ),
        default_model=HOSTILE,
        options={'stop': [HOSTILE, '"""'], 'temperature': 0.1},
        message=HOSTILE,
        created_at=datetime.now(),
    )
    rag = RagInfo(
        id=1, owner_id=1, name=HOSTILE, kb_ids=[1], embedding_model=HOSTILE, chat_model=HOSTILE,
        prompt_template=HOSTILE + '{context}{question}', top_k=3, threshold=-0.5, document_ids=[],
        visibility='private', workshop_id=None,
    )  # fmt: skip
    conversation = ConversationView(
        id=1,
        title=HOSTILE,
        model=HOSTILE,
        system_prompt=HOSTILE,
        settings=ChatSettings(options={'stop': [HOSTILE]}, format={'title': HOSTILE}, keep_alive='5m', think=True),
        messages=[{'role': 'user', 'content': HOSTILE}, {'role': 'assistant', 'content': HOSTILE * 5}],
    )
    tools = [
        ToolInfo(
            ref='tool:1',
            id=1,
            name=name,
            description=HOSTILE,
            kind=kind,
            config=config,
            parameters={'type': 'object', 'properties': {HOSTILE: {'type': 'string', 'description': HOSTILE}}},
        )
        for name, kind, config in [
            ('class', 'static', {'response': HOSTILE}),
            ('print', 'builtin', {'builtin': 'calculator'}),
            ('MODEL', 'http', {'method': 'POST', 'url': 'https://example.org/{x}', 'headers': {'X-Key': HOSTILE}}),
            ('main', 'static', {'response': [HOSTILE, {'"""': None}]}),
        ]
    ]
    scripts = [
        *(rag_script(rag, splitter, 100, 10) for splitter in ('sentence', 'token', 'markdown', HOSTILE)),
        conversation_script(conversation),
        prompt_script(HOSTILE, 1, version),
        *(tool_script(t) for t in tools),
    ]
    for made in scripts:
        assert_valid(made)
    assert "HEADERS = {'X-Key': '<your X-Key value>'}" in scripts[-2].code
    assert [function_name(t.name) for t in tools] == ['class_tool', 'print_tool', 'MODEL_tool', 'main_tool']
    # the values come out of the scripts exactly as they went in
    rag_values, chat_values, prompt_values = (constants_of(made) for made in scripts[3:6])
    assert rag_values['PROMPT_TEMPLATE'] == rag.prompt_template and rag_values['CHAT_MODEL'] == HOSTILE
    assert rag_values['THRESHOLD'] == -0.5 and rag_values['CHUNK_SIZE'] == 100
    assert chat_values['MESSAGES'][0] == {'role': 'system', 'content': HOSTILE}
    assert chat_values['MESSAGES'][2]['content'] == HOSTILE * 5 and chat_values['FORMAT'] == {'title': HOSTILE}
    assert prompt_values['USER_TEMPLATE'] == version.user_template and prompt_values['MODEL'] == HOSTILE
    assert prompt_values['VARIABLES']['tone'] == {'default': HOSTILE, 'choices': [HOSTILE, '"""']}
    assert prompt_values['render'](prompt_values['USER_TEMPLATE'], {'topic': '{{tone}}'}).startswith('"""{{tone}}"""')
    for made, tool in zip(scripts[6:], tools, strict=True):
        values = constants_of(made)
        assert values['TOOL'] == tool.spec()
        assert values.get('RESPONSE') == tool.config.get('response')


def constants_of(made: Script) -> dict:
    """The module's names after its top level ran (not `main`: it is not run as __main__)."""
    namespace: dict = {'__name__': 'exported_script'}
    exec(compile(made.code, made.filename, 'exec'), namespace)
    return namespace


# ----- the button and the dialog on each page -----------------------------------------------------------------------
async def test_show_as_python_on_the_prompt_tool_playground_and_rag_pages(
    user: User, services: Services, ada: int
) -> None:
    prompt = await services.prompts.create(
        ada,
        PromptDraft(name='Haiku', user_template='Write a haiku about {{topic}}.',
                    variables=[{'name': 'topic', 'type': 'text', 'default': 'llamas'}], default_model=CHAT),
    )  # fmt: skip
    tool = await services.tools.create(
        ada, ToolDraft(name='weather', description='The weather', kind='static', config={'response': {'temp': 21}})
    )
    conversation = await services.chat.create_conversation(ada, CHAT, 'Be brief.')
    async for _ in services.chat.send(ada, conversation.id, 'Hello there'):
        pass
    kb = await services.knowledge.create_kb(ada, name='Nature', embedding_model=EMBED)
    await services.knowledge.upload(ada, kb.id, [('llamas.md', DOCS['llamas.md'].encode())])
    rag = await services.rag.create(ada, name='Nature QA', kb_ids=[kb.id], chat_model=CHAT)
    await sign_in(user, 'ada@example.org')

    pages = [
        (f'/prompts/{prompt.id}', 'Prompt "Haiku" (version 1) as Python', "USER_TEMPLATE = 'Write a haiku about"),
        (f'/tools/{tool.id}', 'Tool "weather" as Python', "RESPONSE = {'temp': 21}"),
        ('/tools/builtin/calculator', 'Tool "calculator" as Python', 'def calculator(arguments: dict)'),
        (f'/playground/{conversation.id}', 'as Python', "{'role': 'user', 'content': 'Hello there'}"),
        (f'/rag/{rag.id}', 'RAG system "Nature QA" as Python', 'VectorStoreIndex.from_documents('),
    ]
    for path, title, code in pages:
        await user.open(path)
        user.find(marker='show-python').click()
        await user.should_see(title)
        await user.should_see(code)
        [shown] = user.find(marker='python-code').elements
        compile(shown.content, 'shown.py', 'exec')
        user.find(marker='python-download').click()
        downloaded = await user.download.next(timeout=5)
        assert downloaded.content.decode().strip() == shown.content.strip()
    user.find(marker='python-bundle').click()  # the RAG system: the script and its documents
    zipped = await user.download.next(timeout=5)
    assert sorted(zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()) == ['documents/llamas.md', 'rag_nature_qa.py']

    await user.open('/playground')  # nothing saved yet: nothing to export, and the page says why
    user.find(marker='show-python').click()
    await user.should_see('Send a first message: the script replays a saved conversation.')
