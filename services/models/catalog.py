"""The model catalogue across Ollama hosts: list for everyone; pull and delete for instructors and admins."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models import Role
from services.core import actions
from services.core import audit as audit_actions
from services.core.activity import ActivityService
from services.core.audit import AuditService
from services.core.auth import AuthService
from services.core.errors import InvalidInput, NotFound
from services.models.client import ModelNotFound, OllamaError, OllamaGateway
from services.models.hosts import HostDirectory


@dataclass(kw_only=True, slots=True)
class ModelInfo:
    name: str
    host: str
    size: int
    family: str
    parameter_size: str
    quantization: str
    modified_at: datetime | None


@dataclass(kw_only=True, slots=True)
class HostInfo:
    url: str
    ok: bool
    version: str
    latency_ms: float | None
    error: str


class ModelCatalog:
    def __init__(
        self,
        auth: AuthService,
        activity: ActivityService,
        audit: AuditService,
        hosts: HostDirectory,
        gateway: OllamaGateway,
        health: Any,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.audit = audit
        self.hosts = hosts
        self.gateway = gateway
        self.health = health

    async def list_hosts(self, actor_id: int) -> list[HostInfo]:
        user = await self.auth.require(actor_id)
        known = {s.url: s for s in self.health.snapshot()}
        result = []
        for url in await self.hosts.urls():
            status = known.get(url)
            result.append(
                HostInfo(
                    url=url if user.at_least(Role.INSTRUCTOR) else f'host {len(result) + 1}',
                    ok=bool(status and status.ok),
                    version=status.version if status else '',
                    latency_ms=status.latency_ms if status else None,
                    error=status.error if status else 'not checked yet',
                )
            )
        return result

    async def list_models(self, actor_id: int) -> list[ModelInfo]:
        """The models on every reachable host (a host that is down is skipped)."""
        await self.auth.require(actor_id)
        result: list[ModelInfo] = []
        errors: list[OllamaError] = []
        urls = await self.hosts.urls()
        for url in urls:
            try:
                models = await self.gateway.list_models(url)
            except OllamaError as exc:
                errors.append(exc)
                continue
            for m in models:
                details = m.details
                result.append(
                    ModelInfo(
                        name=m.model or '',
                        host=url,
                        size=m.size or 0,
                        family=(details.family if details else '') or '',
                        parameter_size=(details.parameter_size if details else '') or '',
                        quantization=(details.quantization_level if details else '') or '',
                        modified_at=m.modified_at,
                    )
                )
        if errors and len(errors) == len(urls):
            raise errors[0]
        return sorted(result, key=lambda m: (m.name, m.host))

    async def _host(self, host: str | None) -> str:
        urls = await self.hosts.urls()
        if host is None:
            return await self.hosts.default()
        if host not in urls:
            raise NotFound('No such Ollama host. GET /api/v1/hosts lists them.')
        return host

    async def pull(self, actor_id: int, name: str, host: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """Check permissions now, then return the stream of progress dicts (status, completed, total)."""
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        name = (name or '').strip()
        if not name or len(name) > 200:
            raise InvalidInput('Name the model to pull, e.g. "llama3.2:1b".')
        url = await self._host(host)
        return self._pull(user.id, url, name)

    async def _pull(self, user_id: int, url: str, name: str) -> AsyncIterator[dict[str, Any]]:
        started = time.perf_counter()
        error: str | None = 'stopped before it finished'
        try:
            async for part in self.gateway.pull_stream(url, name):
                yield {'status': part.status or '', 'completed': part.completed, 'total': part.total}
            error = None
        except OllamaError as exc:
            error = exc.message
            raise
        finally:
            self.hosts.invalidate(url)
            latency = (time.perf_counter() - started) * 1000
            await self.activity.record(
                user_id, actions.MODEL_PULL, model=name, host=url, latency_ms=latency, error=error
            )
            await self.audit.record(
                user_id,
                audit_actions.MODEL_PULL,
                outcome='ok' if error is None else 'failed',
                target=name,
                host=url,
                error=error,
            )

    async def delete(self, actor_id: int, name: str, host: str | None = None) -> None:
        user = await self.auth.require(actor_id, Role.INSTRUCTOR)
        url = await self._host(host)
        try:
            await self.gateway.delete(url, name)
        except ModelNotFound as exc:
            raise NotFound(f'The model "{name}" is not on {url}.') from exc
        finally:
            self.hosts.invalidate(url)
        await self.activity.record(user.id, actions.MODEL_DELETE, model=name, host=url)
        await self.audit.record(user.id, audit_actions.MODEL_DELETE, target=name, host=url)
