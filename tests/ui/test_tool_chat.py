"""Tool chat: the function-calling loop in the UI against the test server's tool calls."""

from __future__ import annotations

from nicegui.testing import User

from services.core import actions
from services.tools.library import ToolDraft
from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


def only(user: User, marker: str):
    [element] = user.find(marker=marker).elements
    return element


async def send(user: User, text: str) -> None:
    only(user, 'chat-input').value = text
    user.find(marker='chat-send').click()


async def test_conversation_calls_tools_and_shows_the_transcript(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    ada = await make_account('ada@example.org', 'Ada')
    static = await services.tools.create(
        ada, ToolDraft(name='weather', description='Weather', kind='static', config={'response': {'sky': 'clear'}})
    )
    await sign_in(user, 'ada@example.org')
    await user.open('/tools/chat')
    assert only(user, 'chat-model').value == 'llama3.2:latest'
    only(user, 'chat-tools').value = ['builtin:calculator', static.ref]
    await send(user, 'call calculator {"expression": "1234 * 5678"}')
    await user.should_see(marker='transcript-result', retries=50)
    await user.should_see('Step 1: calculator')
    await user.should_see('7006652')
    await user.should_see('The tool calculator returned', retries=30)
    # a failing tool: the error goes back to the model, which answers with it
    await send(user, 'call calculator {"expression": "__import__(\'os\')"}')
    await user.should_see(marker='transcript-error', retries=50)
    await user.should_see('Error (sent to the model)')
    await user.should_see('The tool calculator returned: Error: Only numbers', retries=30)
    # the conversation history went to the model: the tool message of the first turn was sent again
    last = [r for r in ollama_server.requests if r.get('path') == '/api/chat'][-1]
    assert any(m.get('role') == 'tool' and '7006652' in m.get('content', '') for m in last['body']['messages'])
    calls = await services.activity.query(user_id=ada, action=actions.TOOL_CALL)
    assert [c.details['ok'] for c in calls] == [False, True]


async def test_step_bound_and_model_without_tools(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/tools/chat')
    only(user, 'chat-tools').value = ['builtin:convert_units']
    ollama_server.always_call_tools = True
    await send(user, 'call convert_units {"value": 1, "from_unit": "km", "to_unit": "m"}')
    await user.should_see(marker='step-limit', retries=80)
    await user.should_see(f'Stopped after {services.tool_loop.max_steps} rounds')
    assert len(user.find(marker='transcript-result').elements) == services.tool_loop.max_steps
    ollama_server.always_call_tools = False
    only(user, 'chat-model').value = 'llava:7b'
    await send(user, 'call convert_units {"value": 1, "from_unit": "km", "to_unit": "m"}')
    await user.should_see('does not support tool calling', retries=50)
