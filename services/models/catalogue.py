"""The model catalogue: every model on every enabled host, cached per host and refreshed in the background.

Reading the catalogue never waits on Ollama: pages get the cached snapshot (and a `loading` flag on a cold start) and
subscribe to `changed`, which carries the new snapshot after each refresh. It is the one model list: every page and the
API read it (`model_names` for pickers, `api_models` for /api/v1/models and /v1/models), filtered to the models a
caller may use (their workshop's allowed models). Model management (pull, create, copy, delete, unload) lives in
`services.models.admin` and refreshes the affected host when it is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nicegui import Event, background_tasks

from models import Role
from services.core.auth import AuthService
from services.core.bus import LiveBus
from services.core.errors import NotFound
from services.core.i18n import N_
from services.models.calls import ModelCalls
from services.models.errors import OllamaError
from services.models.hosts import HostDirectory

log = logging.getLogger(__name__)

CAPABILITIES = (N_('completion'), N_('tools'), N_('embedding'), N_('vision'), N_('thinking'))  # shown: _()


@dataclass(kw_only=True, slots=True)
class ModelInfo:
    name: str
    host: str
    host_label: str = ''
    family: str = ''
    parameter_size: str = ''
    quantization: str = ''
    size: int = 0
    modified_at: datetime | None = None
    digest: str = ''
    capabilities: list[str] = field(default_factory=list)
    context_length: int | None = None
    embedding_length: int | None = None

    @property
    def chat_capable(self) -> bool:
        """Embedding-only models cannot chat; a model whose capabilities are unknown is given the benefit."""
        return 'completion' in self.capabilities or not self.capabilities


@dataclass(kw_only=True, slots=True)
class CatalogueView:
    models: list[ModelInfo]
    errors: dict[str, str]  # host url -> why its list is missing or stale
    loading: bool
    refreshed_at: float | None


@dataclass(kw_only=True, slots=True)
class ModelDetails:
    name: str
    host: str
    modelfile: str
    template: str
    parameters: str
    license: str
    system: str
    capabilities: list[str]
    info: dict[str, Any]


@dataclass(kw_only=True, slots=True)
class RunningModel:
    name: str
    host: str
    size: int
    size_vram: int
    context_length: int | None
    expires_at: datetime | None


@dataclass(slots=True)
class _HostCache:
    models: list[ModelInfo] = field(default_factory=list)
    error: str = ''
    refreshed_at: float | None = None


class Catalogue:
    def __init__(
        self,
        calls: ModelCalls,
        hosts: HostDirectory,
        auth: AuthService,
        *,
        refresh_interval: float = 60.0,
        bus: LiveBus | None = None,
    ) -> None:
        self.calls = calls
        self.hosts = hosts
        self.auth = auth
        self.refresh_interval = refresh_interval
        self.changed: Event[CatalogueView] = Event()
        self._cache: dict[str, _HostCache] = {}
        self._shown: dict[tuple[str, str, str], tuple[list[str], int | None, int | None]] = {}  # (host, name, digest)
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._refreshing: asyncio.Task | None = None
        self.bus = bus
        if bus is not None:  # a model pulled, created or deleted through another app process: read the host again
            bus.on('catalogue_stale', self._on_stale)

    # ----- background refresh --------------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = background_tasks.create(self._loop(), name='model-catalogue')

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    async def _loop(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception:
                log.exception('model catalogue refresh failed')
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.refresh_interval)
            except TimeoutError:
                pass

    def refresh_soon(self) -> None:
        """Refresh in the background (e.g. on a cold cache) without making anyone wait."""
        if self._task is not None and not self._task.done():
            self._wake.set()
        elif self._refreshing is None or self._refreshing.done():
            self._refreshing = background_tasks.create(self.refresh(), name='model-catalogue-refresh')

    async def changed_models(self, url: str) -> None:
        """This process changed the models of a host: read it again here, and on every other app process."""
        await self.refresh(url)
        if self.bus is not None:
            self.bus.publish('catalogue_stale', url=url)

    async def _on_stale(self, payload: dict[str, Any]) -> None:
        try:
            await self.refresh(payload.get('url'))
        except Exception as exc:  # the next periodic refresh catches up
            log.warning('refreshing the catalogue after a change on another process failed: %s', exc)

    async def refresh(self, url: str | None = None) -> CatalogueView:
        """Re-read one host (or all enabled hosts) from Ollama, then emit `changed` with the new snapshot."""
        urls = await self.hosts.urls()
        targets = [url] if url else urls
        await asyncio.gather(*(self._refresh_host(u) for u in targets if u in urls))
        for stale in set(self._cache) - set(urls):
            self._cache.pop(stale, None)
        view = self.view()
        self.changed.emit(view)
        return view

    async def _refresh_host(self, url: str) -> None:
        cache = self._cache.setdefault(url, _HostCache())
        self.calls.invalidate(url)
        label = await self.hosts.label_of(url)
        try:
            listed = await self.calls.list_models(url)
            semaphore = asyncio.Semaphore(4)

            async def info(entry: Any) -> ModelInfo:
                async with semaphore:
                    return await self._model_info(url, label, entry)

            cache.models = sorted(await asyncio.gather(*(info(m) for m in listed if m.model)), key=lambda m: m.name)
            cache.error = ''
        except OllamaError as exc:
            cache.error = exc.message
        cache.refreshed_at = time.time()

    async def _model_info(self, url: str, label: str, entry: Any) -> ModelInfo:
        details = entry.details
        key = (url, entry.model, entry.digest or '')
        if key not in self._shown:
            try:
                shown = await self.calls.show(url, entry.model)
                arch = (shown.modelinfo or {}).get('general.architecture', '')
                info = shown.modelinfo or {}
                self._shown[key] = (
                    list(shown.capabilities or []),
                    info.get(f'{arch}.context_length'),
                    info.get(f'{arch}.embedding_length'),
                )
            except OllamaError as exc:
                log.info('show %s on %s failed: %s', entry.model, url, exc.message)
                self._shown[key] = ([], None, None)
        capabilities, context_length, embedding_length = self._shown[key]
        return ModelInfo(
            name=entry.model,
            host=url,
            host_label=label,
            family=(details.family if details else '') or '',
            parameter_size=(details.parameter_size if details else '') or '',
            quantization=(details.quantization_level if details else '') or '',
            size=int(entry.size or 0),
            modified_at=entry.modified_at,
            digest=entry.digest or '',
            capabilities=capabilities,
            context_length=context_length,
            embedding_length=embedding_length if 'embedding' in capabilities else None,
        )

    # ----- reads (never wait on Ollama) ----------------------------------------------------------------------------
    def view(self) -> CatalogueView:
        models = [m for cache in self._cache.values() for m in cache.models]
        errors = {url: c.error for url, c in self._cache.items() if c.error}
        stamps = [c.refreshed_at for c in self._cache.values() if c.refreshed_at]
        loading = not self._cache or any(c.refreshed_at is None for c in self._cache.values())
        return CatalogueView(models=models, errors=errors, loading=loading, refreshed_at=min(stamps, default=None))

    async def models(self, actor_id: int, search: str = '', capability: str = '') -> CatalogueView:
        await self.auth.require(actor_id, Role.ATTENDEE)
        if not self._cache:
            self.refresh_soon()
        view = self.view()
        term = (search or '').strip().lower()
        view.models = [
            m
            for m in view.models
            if (not term or term in m.name.lower() or term in m.family.lower())
            and (not capability or capability in m.capabilities)
        ]
        return view

    def known(self, name: str) -> ModelInfo | None:
        """The cached entry for a model name (any host), without touching Ollama."""
        wanted = name if ':' in name else f'{name}:latest'
        for cache in self._cache.values():
            for model in cache.models:
                if model.name == wanted:
                    return model
        return None

    async def chat_models(self, actor_id: int) -> list[ModelInfo]:
        """Models that can chat (embedding-only models are left out) and that this user may use, one per name."""
        return await self._usable(actor_id, lambda m: m.chat_capable)

    async def embedding_models(self, actor_id: int) -> list[ModelInfo]:
        """Models that compute embeddings and that this user may use, one per name."""
        return await self._usable(actor_id, lambda m: 'embedding' in m.capabilities)

    async def model_names(self, actor_id: int, capability: str = '') -> list[str]:
        """The names for a model picker: 'chat', 'embedding' or '' (any), only those this user may use. On a cold
        start the catalogue is read first, so a page opened right after start-up still offers the models."""
        if not self._cache:
            try:
                await self.refresh()
            except OllamaError:
                pass
        if capability == 'chat':
            return [m.name for m in await self.chat_models(actor_id)]
        if capability == 'embedding':
            return [m.name for m in await self.embedding_models(actor_id)]
        return [m.name for m in await self._usable(actor_id, lambda m: True)]

    async def api_models(self, actor_id: int) -> list[ModelInfo]:
        """Every model on every host that this user may use (one entry per host), for /api/v1/models and /v1/models.
        Read fresh when the catalogue is cold; refused with the hosts' error when none of them answers."""
        if not self._cache or self.view().loading:
            await self.refresh()
        allowed = await self.calls.allowed_models(await self.calls.caller(actor_id))
        view = self.view()
        if not view.models and view.errors and len(view.errors) == len(self._cache):
            raise OllamaError(next(iter(view.errors.values())))
        models = [m for m in view.models if allowed is None or m.name in allowed]
        return sorted(models, key=lambda m: (m.name, m.host))

    async def allowed_for(self, actor_id: int) -> list[str] | None:
        """The models this user may use (None: any), for pages that filter a fresh snapshot with `chat_names`."""
        return await self.calls.allowed_models(await self.calls.caller(actor_id))

    @staticmethod
    def chat_names(view: CatalogueView, allowed: list[str] | None) -> list[str]:
        """The chat model names of a snapshot (from `changed`) that a user with these allowed models may use."""
        names = [m.name for m in view.models if m.chat_capable and (allowed is None or m.name in allowed)]
        return list(dict.fromkeys(names))

    async def _usable(self, actor_id: int, keep: Any) -> list[ModelInfo]:
        view = await self.models(actor_id)
        allowed = await self.calls.allowed_models(await self.calls.caller(actor_id))
        seen: dict[str, ModelInfo] = {}
        for model in view.models:
            if keep(model) and model.name not in seen and (allowed is None or model.name in allowed):
                seen[model.name] = model
        return list(seen.values())

    async def details(self, actor_id: int, host: str, name: str) -> ModelDetails:
        user = await self.auth.require(actor_id, Role.ATTENDEE)
        await self.hosts.require_enabled(host)
        shown = await self.calls.show(host, name, await self.calls.caller(user.id))
        return ModelDetails(
            name=name,
            host=host,
            modelfile=shown.modelfile or '',
            template=shown.template or '',
            parameters=shown.parameters or '',
            license=shown.license or '',
            system=_system_of(shown.modelfile or ''),
            capabilities=list(shown.capabilities or []),
            info={k: v for k, v in (shown.modelinfo or {}).items() if not isinstance(v, list)},
        )

    async def running(self, actor_id: int) -> list[RunningModel]:
        await self.auth.require(actor_id, Role.ATTENDEE)
        result: list[RunningModel] = []
        for url in await self.hosts.urls():
            try:
                entries = await self.calls.loaded(url)
            except OllamaError:
                continue
            result += [
                RunningModel(
                    name=e.model or e.name or '',
                    host=url,
                    size=int(e.size or 0),
                    size_vram=int(e.size_vram or 0),
                    context_length=e.context_length,
                    expires_at=e.expires_at,
                )
                for e in entries
            ]
        return result

    def host_has(self, url: str, name: str) -> bool:
        cache = self._cache.get(url)
        return bool(cache and any(m.name == name for m in cache.models))


def _system_of(modelfile: str) -> str:
    start = modelfile.find('SYSTEM """')
    if start < 0:
        return ''
    end = modelfile.find('"""', start + 10)
    return modelfile[start + 10 : end] if end > 0 else ''


def require_found(model: ModelInfo | None, name: str) -> ModelInfo:
    if model is None:
        raise NotFound(N_('The model "{name}" is not in the catalogue.', name=name))
    return model
