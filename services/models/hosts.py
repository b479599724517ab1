"""Which Ollama hosts exist: the table admins manage, seeded from `OLLAMA_HOST` on first start.

The one model-call path (`services.models.calls`) asks this directory for the enabled hosts and routes each call to
one of them; this module itself never talks to Ollama (host checks are in `services.models.health`). The list of
enabled URLs is cached in memory and refreshed whenever an admin changes it, so hot paths never query the table.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from models import OllamaHost, Role
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.errors import Conflict, InvalidInput, NotFound
from services.core.i18n import N_

_LABEL_MAX = 80


@dataclass(kw_only=True, slots=True, frozen=True)
class HostStatus:
    url: str
    ok: bool
    version: str = ''
    latency_ms: float | None = None
    error: str = ''
    checked_at: datetime | None = None


@dataclass(kw_only=True, slots=True)
class HostInfo:
    id: int
    label: str
    url: str
    enabled: bool
    slots: int | None = None  # generations it runs at once (None: the OLLAMA_SLOTS default)
    status: HostStatus | None = None


def _info(row: OllamaHost, status: HostStatus | None = None) -> HostInfo:
    return HostInfo(id=row.id, label=row.label, url=row.url, enabled=row.enabled, slots=row.slots, status=status)


def normalise_url(raw: str) -> str:
    """An http(s) base URL with a host and nothing else (no credentials, path, query or fragment)."""
    text = (raw or '').strip().rstrip('/')
    if not text or len(text) > 300 or any(c.isspace() or ord(c) < 32 for c in text):
        raise InvalidInput(N_('Enter the Ollama URL, like http://10.0.0.5:11434.'))
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(
            N_('That URL is not valid ({exc}). Use a form like http://10.0.0.5:11434.', exc=exc)
        ) from exc
    if parts.scheme not in ('http', 'https'):
        raise InvalidInput(N_('Only http:// and https:// URLs are allowed for an Ollama host.'))
    if '@' in parts.netloc or parts.username or parts.password:
        raise InvalidInput(N_('The URL must not contain a user name or password (nothing before "@").'))
    if not parts.hostname:
        raise InvalidInput(N_('The URL needs a host name, like http://10.0.0.5:11434.'))
    if parts.path or parts.query or parts.fragment:
        raise InvalidInput(
            N_('Give only the scheme, host and port (no path, query or fragment), like http://host:11434.')
        )
    host = parts.hostname
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if all(label.isdigit() or label.lower().startswith('0x') for label in host.split('.')):
            raise InvalidInput(
                N_(
                    '"{host}" looks like an IP address in an unusual form; write it as four numbers, like 10.0.0.5.',
                    host=host,
                )
            ) from None
        if (
            not all(label and len(label) <= 63 for label in host.split('.'))
            or not host.replace('-', '').replace('.', '').replace('_', '').isalnum()
        ):
            raise InvalidInput(N_('"{host}" is not a valid host name.', host=host)) from None
    netloc = f'[{host}]' if ':' in host else host
    if port is not None:
        netloc += f':{port}'
    return f'{parts.scheme}://{netloc}'


class HostDirectory:
    def __init__(self, default_urls: list[str], auth: AuthService, bus: LiveBus | None = None) -> None:
        self.default_urls = default_urls
        self.auth = auth
        self._urls: list[str] | None = None
        self._slots: dict[str, int | None] = {}  # enabled host -> its own number of generation slots
        self._lock = asyncio.Lock()
        self.bus = bus
        if bus is not None:  # an admin changed the hosts on another app process: read them again here
            bus.on('hosts_changed', lambda _: self._forget())
            bus.on_gap(self._forget)

    # ----- lookups (hot path: cached) -------------------------------------------------------------------------------
    async def urls(self) -> list[str]:
        """The enabled hosts, the default (first) one first."""
        if self._urls is None:
            async with self._lock:
                if self._urls is None:
                    await self._seed()
                    rows = await OllamaHost.filter(enabled=True).order_by('position', 'id')
                    self._slots = {h.url: h.slots for h in rows}
                    self._urls = [h.url for h in rows]
        return list(self._urls)

    async def _seed(self) -> None:
        if await OllamaHost.exists():
            return
        for position, url in enumerate(self.default_urls):
            try:
                url = normalise_url(url)
            except InvalidInput:
                continue
            label = 'Default' if position == 0 else f'Host {position + 1}'
            await OllamaHost.get_or_create(defaults={'label': label, 'position': position}, url=url)

    async def slots_of(self, url: str) -> int | None:
        """The host's own number of generation slots (None: the default)."""
        await self.urls()
        return self._slots.get(url)

    def _changed(self) -> None:
        self._forget()
        if self.bus is not None:
            self.bus.publish('hosts_changed')

    def _forget(self) -> None:
        self._urls = None

    async def default(self) -> str:
        urls = await self.urls()
        if not urls:
            raise InvalidInput(N_('No Ollama host is configured. An admin has to add one.'))
        return urls[0]

    async def label_of(self, url: str) -> str:
        row = await OllamaHost.get_or_none(url=url)
        return row.label if row else url

    async def require_enabled(self, url: str) -> str:
        """`url` if it is an enabled host; otherwise NotFound (a user can never aim the platform elsewhere)."""
        if url not in await self.urls():
            raise NotFound(N_('That Ollama host is not available.'))
        return url

    # ----- administration ------------------------------------------------------------------------------------------
    async def _require_admin(self, actor_id: int) -> None:
        await self.auth.require(actor_id, Role.ADMIN)

    async def list_hosts(self, actor_id: int) -> list[HostInfo]:
        await self._require_admin(actor_id)
        await self.urls()  # seeds on first use
        return [_info(r) for r in await OllamaHost.all().order_by('position', 'id')]

    async def url_of(self, actor_id: int, host_id: int) -> str:
        await self._require_admin(actor_id)
        row = await OllamaHost.get_or_none(id=host_id)
        if row is None:
            raise NotFound(N_('That host does not exist (any more).'))
        return row.url

    async def add_host(
        self, actor_id: int, label: str, url: str, enabled: bool = True, slots: int | None = None
    ) -> HostInfo:
        await self._require_admin(actor_id)
        slots = _check_slots(slots)
        label = ' '.join((label or '').split())
        if not 1 <= len(label) <= _LABEL_MAX:
            raise InvalidInput(
                N_('Give the host a label of 1 to {LABEL_MAX} characters, like "GPU server".', LABEL_MAX=_LABEL_MAX)
            )
        url = normalise_url(url)
        await self.urls()
        if await OllamaHost.exists(url=url):
            raise Conflict(N_('{url} is already registered.', url=url))
        last = await OllamaHost.all().order_by('-position').first()
        row = await OllamaHost.create(
            label=label, url=url, enabled=enabled, slots=slots, position=(last.position + 1) if last else 0
        )
        self._changed()
        return _info(row)

    async def update_host(
        self,
        actor_id: int,
        host_id: int,
        *,
        label: str | None = None,
        url: str | None = None,
        enabled: bool | None = None,
        slots: int | object | None = ...,
    ) -> HostInfo:
        """Change what is given; `slots=None` goes back to the default number of slots."""
        await self._require_admin(actor_id)
        row = await OllamaHost.get_or_none(id=host_id)
        if row is None:
            raise NotFound(N_('That host does not exist (any more).'))
        if label is not None:
            label = ' '.join(label.split())
            if not 1 <= len(label) <= _LABEL_MAX:
                raise InvalidInput(N_('Give the host a label of 1 to {LABEL_MAX} characters.', LABEL_MAX=_LABEL_MAX))
            row.label = label
        if url is not None:
            url = normalise_url(url)
            if url != row.url and await OllamaHost.exists(url=url):
                raise Conflict(N_('{url} is already registered.', url=url))
            row.url = url
        if enabled is not None:
            row.enabled = enabled
        if slots is not ...:
            row.slots = _check_slots(slots)  # type: ignore[arg-type]
        await row.save()
        self._changed()
        return _info(row)

    async def delete_host(self, actor_id: int, host_id: int) -> None:
        await self._require_admin(actor_id)
        deleted = await OllamaHost.filter(id=host_id).delete()
        if not deleted:
            raise NotFound(N_('That host does not exist (any more).'))
        self._changed()


def _check_slots(slots: int | None) -> int | None:
    if slots is None:
        return None
    if isinstance(slots, bool) or not isinstance(slots, int) or not 1 <= slots <= 256:
        raise InvalidInput(N_('A host runs 1 to 256 generations at once; leave it empty for the default.'))
    return slots
