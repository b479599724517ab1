"""'Show as Python' for a playground conversation: an `ollama` client script with its model, system prompt, options
and messages, that asks the next question (or the last one again) against the attendee's own Ollama."""

from __future__ import annotations

from typing import Any

from services.chat.conversations import ChatService
from services.chat.types import ConversationView, history_of
from services.core.code_export import OLLAMA_HOST, WIDTH, Script, constants, script, slug
from services.core.errors import InvalidInput
from services.core.i18n import N_

DOC = """
A playground conversation exported from the Ollama Workshop Platform, replayed with the ollama Python client.

It sends the conversation (its system prompt and messages) to the same model with the same options and prints the
answer to your next message; with no message it answers the conversation's last question again. It runs against
your own Ollama (OLLAMA_HOST, default http://localhost:11434).

Run it:
    pip install ollama
    ollama pull <MODEL>
    python {filename} "Your next message"
"""
MAIN = """
def main() -> None:
    messages = list(MESSAGES)
    if len(sys.argv) > 1:
        messages.append({'role': 'user', 'content': ' '.join(sys.argv[1:])})
    while messages and messages[-1]['role'] != 'user':
        messages.pop()  # no new message: answer the last one again
    if not messages:
        messages = [{'role': 'user', 'content': 'Hello!'}]

    client = ollama.Client(host=OLLAMA_HOST)
    for part in {call}:
        print(part.message.content, end='', flush=True)
    print()
"""


def chat_arguments(settings: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The constants and the keyword arguments of `client.chat` for a conversation's settings: only what was set."""
    values: dict[str, Any] = {}
    arguments: list[str] = []
    options = {k: v for k, v in (settings.get('options') or {}).items() if v is not None and v != [] and v != ''}
    if options:
        values['OPTIONS'] = options
        arguments.append('options=OPTIONS')
    fmt = settings.get('format')
    if fmt:
        values['FORMAT'] = fmt
        arguments.append('format=FORMAT')
    if settings.get('think') is False:
        arguments.append('think=False')
    if settings.get('keep_alive') not in (None, ''):
        values['KEEP_ALIVE'] = settings['keep_alive']
        arguments.append('keep_alive=KEEP_ALIVE')
    return values, arguments


def conversation_script(view: ConversationView) -> Script:
    filename = f'chat_{slug(view.title, str(view.id))}.py'
    values, arguments = chat_arguments(view.settings.to_dict())
    messages = history_of(view.system_prompt, view.messages)
    args = ['model=MODEL', 'messages=messages', 'stream=True', *arguments]
    call = f'client.chat({", ".join(args)})'
    if len(f'    for part in {call}:') > WIDTH:  # one argument a line, as ruff lays out a long call
        call = 'client.chat(\n' + ''.join(f'        {a},\n' for a in args) + '    )'
    main = MAIN.replace('{call}', call)
    return script(
        doc=DOC.replace('{filename}', filename),
        imports=['import os', 'import sys', 'import ollama'],
        body=[OLLAMA_HOST + constants(MODEL=view.model, **values, MESSAGES=messages), main],
        filename=filename,
        title=N_('Conversation "{title}"', title=view.title),
    )


class ChatScripts:
    """A conversation as a standalone script, for its owner (the only one who can read it)."""

    def __init__(self, chat: ChatService) -> None:
        self.chat = chat

    async def script(self, actor_id: int, conversation_id: int | None) -> Script:
        """`conversation_id` None: the playground has no conversation yet (nothing is saved before a first message)."""
        if conversation_id is None:
            raise InvalidInput(N_('Send a first message: the script replays a saved conversation.'))
        return conversation_script(await self.chat.get_conversation(actor_id, conversation_id))
