"""'Show as Python' for a prompt template: an `ollama` client script that fills the template's `{{variables}}` from
the command line (or their defaults) the way the platform does and prints the model's answer."""

from __future__ import annotations

from typing import Any

from services.core.code_export import OLLAMA_HOST, Script, constants, script, slug
from services.core.i18n import N_
from services.prompts.library import PromptService, VersionInfo
from services.prompts.templates import as_text

FALLBACK_MODEL = 'llama3.2'  # when the prompt names no default model
DOC = """
A prompt template exported from the Ollama Workshop Platform, run with the ollama Python client.

It fills the template's {{variables}} from the command line (each has an option of its own name; those with a
default may be left out), sends the system and user messages to the model with the prompt's options and prints the
answer. It runs against your own Ollama (OLLAMA_HOST, default http://localhost:11434).

Run it:
    pip install ollama
    python {filename} --help
"""
MAIN = '''
def render(template: str, values: dict[str, str]) -> str:
    """Substitute each {{name}} once, left to right (a value is never scanned for placeholders again)."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def main() -> None:
    parser = argparse.ArgumentParser(description=f'Run the prompt template with {MODEL} (edit MODEL for another).')
    for name, spec in VARIABLES.items():
        parser.add_argument(
            f'--{name}',
            default=spec['default'],
            required=spec['default'] is None,
            choices=spec.get('choices'),
            help=spec.get('label', '').replace('%', '%%') or None,
        )
    args = vars(parser.parse_args())
    values = {name: str(args[name]) for name in VARIABLES}

    messages = [{'role': 'user', 'content': render(USER_TEMPLATE, values)}]
    system = render(SYSTEM_TEMPLATE, values)
    if system.strip():
        messages.insert(0, {'role': 'system', 'content': system})

    client = ollama.Client(host=OLLAMA_HOST)
    for part in client.chat(model=MODEL, messages=messages, options=OPTIONS, stream=True):
        print(part.message.content, end='', flush=True)
    print()
'''
PLACEHOLDER = r"PLACEHOLDER = re.compile(r'\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}')"


def variables_spec(version: VersionInfo) -> dict[str, dict[str, Any]]:
    """Each variable's default as text (None: it must be given), its choices and its label."""
    out: dict[str, dict[str, Any]] = {}
    for v in version.variables:
        spec: dict[str, Any] = {'default': None if v.default is None else as_text(v.default)}
        if v.type == 'choice':
            spec['choices'] = list(v.choices)
        elif v.type == 'yes_no':
            spec['choices'] = ['yes', 'no']
        if v.label:
            spec['label'] = v.label
        out[v.name] = spec
    return out


def prompt_script(name: str, prompt_id: int, version: VersionInfo) -> Script:
    filename = f'prompt_{slug(name, str(prompt_id))}.py'
    options = {k: val for k, val in (version.options or {}).items() if val is not None and val != [] and val != ''}
    return script(
        doc=DOC.replace('{filename}', filename),
        imports=['import argparse', 'import os', 'import re', 'import ollama'],
        body=[
            OLLAMA_HOST
            + constants(
                MODEL=version.default_model or FALLBACK_MODEL,
                OPTIONS=options,
                SYSTEM_TEMPLATE=version.system_template or '',
                USER_TEMPLATE=version.user_template,
                VARIABLES=variables_spec(version),
            )
            + '\n'
            + PLACEHOLDER,
            MAIN,
        ],
        filename=filename,
        title=N_('Prompt "{name}" (version {number})', name=name, number=version.number),
    )


class PromptScripts:
    """A prompt template (its current version) as a standalone script, for anyone who can see the prompt."""

    def __init__(self, prompts: PromptService) -> None:
        self.prompts = prompts

    async def script(self, actor_id: int, prompt_id: int) -> Script:
        detail = await self.prompts.get(actor_id, prompt_id)  # NotFound unless shared with the actor
        return prompt_script(detail.name, detail.id, detail.current)
