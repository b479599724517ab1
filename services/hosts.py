"""Which Ollama hosts exist and which one serves a model.

The foundation knows the hosts from `OLLAMA_HOST` (comma separated). Every feature asks this directory for a host
instead of reading settings, so admin-registered hosts (and per-host model catalogues) plug in here.
"""

from __future__ import annotations

import time

from services.errors import InvalidInput
from services.ollama import OllamaError, OllamaGateway


class HostDirectory:
    def __init__(self, gateway: OllamaGateway, default_urls: list[str], cache_seconds: float = 30.0) -> None:
        self.gateway = gateway
        self.default_urls = default_urls
        self.cache_seconds = cache_seconds
        self._models: dict[str, tuple[float, set[str]]] = {}

    async def urls(self) -> list[str]:
        """The enabled hosts, the default first."""
        return list(self.default_urls)

    async def default(self) -> str:
        urls = await self.urls()
        if not urls:
            raise InvalidInput('No Ollama host is configured. An admin has to add one.')
        return urls[0]

    async def models_on(self, url: str) -> set[str]:
        cached = self._models.get(url)
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        names = {m.model for m in await self.gateway.list_models(url) if m.model}
        self._models[url] = (time.monotonic(), names)
        return names

    def invalidate(self, url: str | None = None) -> None:
        if url is None:
            self._models.clear()
        else:
            self._models.pop(url, None)

    async def host_for_model(self, model: str) -> str:
        """The first enabled host that has `model` (names without a tag mean ':latest'); else the default host,
        so that the call fails there with Ollama's own clear 'model not found'."""
        wanted = model if ':' in model else f'{model}:latest'
        for url in await self.urls():
            try:
                if wanted in await self.models_on(url):
                    return url
            except OllamaError:
                continue
        return await self.default()
