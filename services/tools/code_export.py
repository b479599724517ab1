"""'Show as Python' for a tool: an `ollama` client script that offers the tool (its JSON schema as the tool definition)
to a model, runs the calls it makes and hands the results back, as the platform's tool loop does.

A static tool returns its fixed response; an HTTP tool sends its request with `urllib` (its header values are never
exported: each is a placeholder to fill in); a built-in tool becomes a stub to write.
"""

from __future__ import annotations

import builtins
import keyword
import re

from services.core.code_export import OLLAMA_HOST, Script, constants, script, slug
from services.core.i18n import N_
from services.tools.library import ToolInfo, ToolService

MODEL = 'llama3.2'  # a small model that can call tools
MAX_ROUNDS = 5
DOC = """
A tool exported from the Ollama Workshop Platform, used with the ollama Python client's tool calling.

It offers the tool to the model (its JSON schema is the tool definition), runs each call the model makes with the
function below and hands the result back, until the model answers. It runs against your own Ollama (OLLAMA_HOST,
default http://localhost:11434) with MODEL, a model that can call tools.

Run it:
    pip install ollama
    ollama pull <MODEL>
    python {filename} "Your question for the model"
"""
STATIC = '''
def {function}(arguments: dict) -> object:
    """A static tool: the same response, whatever the arguments."""
    return RESPONSE
'''
BUILTIN = '''
def {function}(arguments: dict) -> object:
    """A stand-in for a tool built into the workshop platform: write your own implementation here."""
    return {{'note': 'A stand-in for a built-in tool of the workshop platform.', 'arguments': arguments}}
'''
HTTP = '''
def {function}(arguments: dict) -> object:
    """Send the HTTP request: the arguments fill the URL's {{placeholders}}; for POST, PUT and PATCH the other
    arguments are the JSON body."""
    used = set()

    def fill(match: re.Match) -> str:
        used.add(match.group(1))
        value = arguments.get(match.group(1), '')
        text = json.dumps(value) if isinstance(value, dict | list | bool) else str(value)
        return urllib.parse.quote(text, safe='')

    url = re.sub(r'\\{{([A-Za-z_][A-Za-z0-9_]*)\\}}', fill, URL_TEMPLATE)
    body = {{key: value for key, value in arguments.items() if key not in used}}
    data = json.dumps(body).encode() if METHOD in ('POST', 'PUT', 'PATCH') else None
    headers = {{**HEADERS, 'Content-Type': 'application/json'}} if data else HEADERS
    request = urllib.request.Request(url, data=data, headers=headers, method=METHOD)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode('utf-8', errors='replace')
    except OSError as exc:  # the model reads the error and may try again
        return f'Error: {{exc}}'
    try:
        return json.loads(text)
    except ValueError:
        return text
'''
MAIN = """
def main() -> None:
    question = ' '.join(sys.argv[1:]) or EXAMPLE_QUESTION
    messages = [{{'role': 'user', 'content': question}}]
    client = ollama.Client(host=OLLAMA_HOST)
    for _ in range(MAX_ROUNDS):  # the model may call the tool, read the result and call it again
        response = client.chat(model=MODEL, messages=messages, tools=[TOOL])
        messages.append(response.message)
        if not response.message.tool_calls:
            break
        for call in response.message.tool_calls:
            if call.function.name == TOOL['function']['name']:
                result = {function}(dict(call.function.arguments))
            else:
                result = f'There is no tool called {{call.function.name}}.'
            content = result if isinstance(result, str) else json.dumps(result)
            print(f'{{call.function.name}}({{json.dumps(call.function.arguments)}}) -> {{content}}')
            messages.append({{'role': 'tool', 'tool_name': call.function.name, 'content': content}})
    print(response.message.content)
"""
RESERVED = {'main', 'json', 'os', 're', 'sys', 'urllib', 'ollama'}
IDENTIFIER = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def function_name(tool_name: str) -> str:
    """The Python function for a tool name (letters, digits, _ and -): '-' becomes '_', a name Python or the script
    already uses gets '_tool' after it."""
    name = re.sub(r'[^A-Za-z0-9_]', '_', tool_name) or 'tool'
    if name[0].isdigit():
        name = '_' + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED or hasattr(builtins, name):
        name += '_tool'
    if name.isupper():
        name += '_tool'  # never one of the script's constants
    assert IDENTIFIER.match(name)
    return name


def tool_script(tool: ToolInfo) -> Script:
    filename = f'tool_{slug(tool.name, "tool")}.py'
    function = function_name(tool.name)
    imports = ['import json', 'import os', 'import sys', 'import ollama']
    extra = {}
    if tool.kind == 'static':
        implementation = STATIC
        extra['RESPONSE'] = tool.config.get('response')
    elif tool.kind == 'http':
        implementation = HTTP
        imports += ['import re', 'import urllib.parse', 'import urllib.request']
        extra['METHOD'] = str(tool.config.get('method') or 'GET')
        extra['URL_TEMPLATE'] = str(tool.config.get('url') or '')
    else:
        implementation = BUILTIN
    values = constants(
        MODEL=MODEL,
        MAX_ROUNDS=MAX_ROUNDS,
        EXAMPLE_QUESTION=f'Use the tool {tool.name} and tell me what it returned.',
        TOOL=tool.spec(),
        **extra,
    )
    if tool.kind == 'http':
        # only the header names: their values (often keys) stay on the platform
        headers = {str(name): f'<your {name} value>' for name in tool.config.get('headers') or {}}
        values += '\n# The platform never exports header values: put yours in place of each <...> (or read them from\n'
        values += '# environment variables) before you run the script.\n' + constants(HEADERS=headers)
    return script(
        doc=DOC.replace('{filename}', filename),
        imports=imports,
        body=[OLLAMA_HOST + values, implementation.format(function=function), MAIN.format(function=function)],
        filename=filename,
        title=N_('Tool "{name}"', name=tool.name),
    )


class ToolScripts:
    """A tool as a standalone script, for anyone who can see it (the built-ins: everyone signed in)."""

    def __init__(self, tools: ToolService) -> None:
        self.tools = tools

    async def script(self, actor_id: int, ref: str) -> Script:
        """`ref` is 'tool:<id>' or 'builtin:<key>'; NotFound unless the actor may see the tool."""
        [tool] = await self.tools.resolve(actor_id, [ref])
        return tool_script(tool)
