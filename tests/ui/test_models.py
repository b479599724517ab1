"""The models page and the Ollama hosts page, as admins, instructors and attendees see them."""

from __future__ import annotations

from collections.abc import Callable

from nicegui.testing import User

from services.wiring import Services
from tests.ollama_server import OllamaTestServer
from tests.ui.conftest import sign_in


async def test_catalogue_shows_models_with_capabilities_and_filters(user: User, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/models')
    await user.should_see('qwen3:0.6b', retries=50)
    await user.should_see('nomic-embed-text:latest')
    await user.should_see('thinking')
    await user.should_see('Running models')
    user.find(marker='model-capability').click()
    user.find('Embedding models only').click()
    await user.should_not_see('qwen3:0.6b', retries=30)
    await user.should_see('all-minilm:latest')
    user.find(marker='model-search').type('minilm')
    await user.should_not_see('nomic-embed-text:latest', retries=30)


async def test_details_dialog_shows_modelfile_and_parameters(user: User, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/models')
    await user.should_see('llama3.2:latest', retries=50)
    user.find(marker='details-llama3.2:latest').click()
    await user.should_see('Modelfile', retries=30)
    await user.should_see('<|eot_id|>')


async def test_pull_progress_is_visible_to_everyone_and_the_model_is_listed(
    user: User, create_user: Callable[[], User], make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    ollama_server.pull_delay = 0.05
    await sign_in(user, 'ada@example.org')
    await user.open('/models')
    await user.should_see('llama3.2:latest', retries=50)
    bob = create_user()
    await sign_in(bob, 'bob@example.org')
    await bob.open('/models')
    await bob.should_see('llama3.2:latest', retries=50)
    await bob.should_not_see(marker='pull-name')  # attendees see and use, but cannot pull

    user.find(marker='pull-name').type('tinyllama')
    user.find(marker='pull-start').click()
    await user.should_see('Pulling tinyllama:latest', retries=50)
    await bob.should_see(marker='pull-tinyllama:latest', retries=50)  # live, on another user's page
    await user.should_see(marker='progress-tinyllama:latest')
    await user.should_see('MB/s', retries=50)  # per-layer speed
    await bob.should_see('done', retries=100)
    await user.should_see(marker='model-tinyllama:latest', retries=50)


async def test_pull_errors_and_cancel(user: User, make_account, ollama_server: OllamaTestServer) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/models')
    user.find(marker='pull-name').type('not a name')
    user.find(marker='pull-start').click()
    await user.should_see('is not a valid model name', retries=30)
    user.find(marker='pull-name').clear().type('unknown-model:1b')
    user.find(marker='pull-start').click()
    await user.should_see('was not found in the model registry', retries=50)

    ollama_server.pull_delay = 0.3
    user.find(marker='pull-name').clear().type('phi3:mini')
    user.find(marker='pull-start').click()
    await user.should_see(marker='cancel-pull-phi3:mini', retries=50)
    user.find(marker='cancel-pull-phi3:mini').click()
    await user.should_see('cancelled', retries=50)
    assert ollama_server.wait_for_disconnect()
    assert ollama_server.find('phi3:mini') is None


async def test_instructor_creates_copies_and_deletes(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    await make_account('ada@example.org', 'Ada')
    await make_account('ian@example.org', 'Ian', role='instructor')
    await sign_in(user, 'ian@example.org')
    await user.open('/models')
    await user.should_see('llama3.2:latest', retries=50)
    user.find(marker='create-open').click()
    await user.should_see(marker='create-name', retries=30)
    user.find(marker='create-name').type('pirate')
    user.find(marker='create-system').type('Talk like a pirate.')
    user.find(marker='create-save').click()
    await user.should_see('pirate:latest created.', retries=50)
    await user.should_see(marker='model-pirate:latest', retries=50)
    assert ollama_server.find('pirate').system == 'Talk like a pirate.'

    user.find(marker='copy-pirate:latest').click()
    await user.should_see(marker='copy-name', retries=30)
    user.find(marker='copy-name').type('parrot')
    user.find(marker='copy-save').click()
    await user.should_see('Copied to parrot:latest.', retries=50)
    await user.should_see(marker='model-parrot:latest', retries=50)

    user.find(marker='delete-parrot:latest').click()
    await user.should_see('Delete parrot:latest?')
    user.find(marker='confirm').click()
    await user.should_see('parrot:latest deleted.', retries=50)
    await user.should_not_see(marker='model-parrot:latest', retries=50)
    assert ollama_server.find('parrot') is None


async def test_attendee_sees_no_management_and_a_stale_page_is_refused(
    user: User, services: Services, make_account, ollama_server: OllamaTestServer
) -> None:
    admin = await make_account('ada@example.org', 'Ada')
    ian = await make_account('ian@example.org', 'Ian', role='instructor')
    await sign_in(user, 'ian@example.org')
    await user.open('/models')
    await user.should_see(marker='delete-llama3.2:latest', retries=50)
    await services.auth.set_role(admin, ian, 'attendee')  # demoted while the page is open
    user.find(marker='delete-llama3.2:latest').click()
    await user.should_see('Delete llama3.2:latest?')
    user.find(marker='confirm').click()
    await user.should_see('This needs the instructor role', retries=30)
    assert ollama_server.find('llama3.2:latest') is not None
    # the role change rotated his session (issue 14 item 2): a real browser follows a fresh sign-in ticket from the
    # open page; the simulated one does not, so Ian signs in again — as an attendee now
    await sign_in(user, 'ian@example.org')
    await user.open('/models')
    await user.should_see('llama3.2:latest', retries=50)
    await user.should_not_see(marker='delete-llama3.2:latest')
    await user.should_not_see(marker='create-open')


async def test_running_models_and_unload(user: User, make_account, ollama_server: OllamaTestServer) -> None:
    await make_account('ada@example.org', 'Ada')
    import ollama

    await ollama.AsyncClient(host=ollama_server.url).chat(model='llama3.2', messages=[{'role': 'user', 'content': 'x'}])
    await sign_in(user, 'ada@example.org')
    await user.open('/models')
    await user.should_see(marker='unload-llama3.2:latest', retries=50)
    await user.should_see('VRAM')
    user.find(marker='unload-llama3.2:latest').click()
    await user.should_see('llama3.2:latest unloaded.', retries=30)
    await user.should_see('No model is loaded in memory right now.', retries=30)


async def test_admin_manages_hosts(user: User, make_account, ollama_server: OllamaTestServer) -> None:
    await make_account('ada@example.org', 'Ada')
    await sign_in(user, 'ada@example.org')
    await user.open('/admin/hosts')
    await user.should_see(ollama_server.url, retries=30)
    await user.should_see('up · v0.32.15', retries=50)
    user.find(marker='host-label').type('Trick')
    user.find(marker='host-url').type('http://admin:pw@10.0.0.1:11434')
    user.find(marker='host-add').click()
    await user.should_see('must not contain a user name or password', retries=30)
    user.find(marker='host-url').clear().type('gopher://10.0.0.1')
    user.find(marker='host-add').click()
    await user.should_see('Only http:// and https:// URLs are allowed', retries=30)
    user.find(marker='host-label').clear().type('Spare')
    user.find(marker='host-url').clear().type('http://127.0.0.1:9')
    user.find(marker='host-add').click()
    await user.should_see('Spare added (http://127.0.0.1:9).', retries=30)
    await user.should_see(marker='status-http://127.0.0.1:9', retries=80)
    await user.should_see('unreachable', retries=30)
    user.find(marker='delete-http://127.0.0.1:9').click()
    await user.should_see('Remove Spare?')
    user.find(marker='confirm').click()
    await user.should_see('Spare removed.', retries=30)


async def test_attendee_cannot_open_hosts_page(user: User, make_account) -> None:
    await make_account('ada@example.org', 'Ada')
    await make_account('bob@example.org', 'Bob')
    await sign_in(user, 'bob@example.org')
    await user.should_see('Models')
    await user.should_see('Playground')
    await user.should_not_see('Ollama hosts')
    await user.open('/admin/hosts')
    await user.should_see('This page needs the admin role.')
