"""Declarative tools: definitions (built-in, HTTP, static), visibility, execution with timing and the activity log,
and the admin allow-list for HTTP tools. No user-supplied code ever runs."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from tortoise.exceptions import IntegrityError

from models import AllowedHost, Tool, ToolKind, Visibility
from services.core import actions
from services.core.activity import ActivityService
from services.core.auth import AuthService, Role
from services.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError
from services.core.i18n import N_
from services.core.net_guard import AllowEntry, UnsafeURL, normalise_host
from services.core.sharing import Sharing, check_visibility
from services.tools.builtins import BuiltinRegistry, ToolContext
from services.tools.http import ToolFailed, validate_config
from services.tools.http import call as http_call
from services.tools.schema import check_arguments, check_name, check_parameters

MAX_STATIC_CHARS = 64_000
MAX_RESULT_CHARS = 16_000


@dataclass(kw_only=True, slots=True)
class ToolDraft:
    name: str
    description: str = ''
    parameters: dict[str, Any] = field(default_factory=dict)
    kind: str = 'static'
    config: dict[str, Any] = field(default_factory=dict)
    visibility: str = 'private'
    workshop_id: int | None = None


@dataclass(kw_only=True, slots=True)
class ToolInfo:
    ref: str  # 'tool:<id>' or 'builtin:<key>'
    id: int | None
    name: str
    description: str
    parameters: dict[str, Any]
    kind: str
    config: dict[str, Any]
    visibility: str = 'public'
    workshop_id: int | None = None
    owner_id: int | None = None
    owner_name: str = ''
    can_edit: bool = False

    def spec(self) -> dict[str, Any]:
        """The tool as Ollama's /api/chat `tools` entry."""
        return {
            'type': 'function',
            'function': {'name': self.name, 'description': self.description, 'parameters': self.parameters},
        }


@dataclass(kw_only=True, slots=True)
class ToolCallResult:
    name: str
    arguments: dict[str, Any]
    ok: bool
    result: Any = None
    error: str | None = None
    duration_ms: float = 0.0

    def as_text(self) -> str:
        """What the model receives in the `tool` message."""
        if not self.ok:
            return f'Error: {self.error}'
        text = self.result if isinstance(self.result, str) else json.dumps(self.result, ensure_ascii=False)
        return text[:MAX_RESULT_CHARS]


@dataclass(kw_only=True, slots=True)
class AllowedHostInfo:
    id: int
    host: str
    port: int | None
    allow_private: bool
    note: str


class ToolService:
    def __init__(
        self,
        *,
        auth: AuthService,
        activity: ActivityService,
        sharing: Sharing,
        builtins: BuiltinRegistry,
        http_timeout: float = 10.0,
        http_max_bytes: int = 256_000,
    ) -> None:
        self.auth = auth
        self.activity = activity
        self.sharing = sharing
        self.builtins = builtins
        self.http_timeout = http_timeout
        self.http_max_bytes = http_max_bytes

    # ----- definitions ---------------------------------------------------------------------------------------------
    def _info(self, row: Tool, actor_id: int, *, redact: bool = True) -> ToolInfo:
        """Plain data for a tool; other users see HTTP header values redacted (they may hold API keys)."""
        config = dict(row.config or {})
        if redact and row.owner_id != actor_id and config.get('headers'):  # type: ignore[attr-defined]
            config['headers'] = {name: '(hidden)' for name in config['headers']}
        return ToolInfo(
            ref=f'tool:{row.id}',
            id=row.id,
            name=row.name,
            description=row.description,
            parameters=dict(row.parameters or {}),
            kind=str(row.kind.value if isinstance(row.kind, ToolKind) else row.kind),
            config=config,
            visibility=str(row.visibility.value if isinstance(row.visibility, Visibility) else row.visibility),
            workshop_id=row.workshop_id,
            owner_id=row.owner_id,  # type: ignore[attr-defined]
            owner_name=row.owner.display_name if hasattr(row.owner, 'display_name') else '',
            can_edit=row.owner_id == actor_id,  # type: ignore[attr-defined]
        )

    def builtin_infos(self) -> list[ToolInfo]:
        return [
            ToolInfo(
                ref=f'builtin:{b.key}',
                id=None,
                name=b.key,
                description=b.description,
                parameters=b.parameters,
                kind='builtin',
                config={'builtin': b.key},
                owner_name='built in',
            )
            for b in self.builtins.all()
        ]

    async def _visible(self, actor_id: int, tool_id: int) -> Tool:
        """The tool if the actor (active, refreshed from the database) may see it, else NotFound."""
        user = await self.auth.require(actor_id)
        row = await Tool.get_or_none(id=tool_id).prefetch_related('owner')
        if row is None or not await self.sharing.can_see(user, row):
            raise NotFound(N_('No such tool. It may have been deleted, or it is not shared with you.'))
        return row

    async def _owned(self, actor_id: int, tool_id: int) -> Tool:
        row = await self._visible(actor_id, tool_id)
        if row.owner_id != actor_id:  # type: ignore[attr-defined]
            raise PermissionDenied(N_('Only the owner can change this tool.'))
        return row

    async def list_tools(self, actor_id: int, search: str = '') -> list[ToolInfo]:
        user = await self.auth.require(actor_id)
        query = Tool.filter(await self.sharing.visible_q(user))
        if search.strip():
            query = query.filter(name__icontains=search.strip())
        rows = await query.order_by('name').limit(500).prefetch_related('owner')
        return [self._info(r, actor_id) for r in rows]

    async def available(self, actor_id: int) -> list[ToolInfo]:
        """What a user can pick for a conversation: the built-ins and every tool they can see."""
        return [*self.builtin_infos(), *await self.list_tools(actor_id)]

    async def get(self, actor_id: int, tool_id: int) -> ToolInfo:
        return self._info(await self._visible(actor_id, tool_id), actor_id)

    def _clean(self, draft: ToolDraft) -> dict[str, Any]:
        name = check_name(draft.name)
        description = (draft.description or '').strip()
        if not description or len(description) > 1000:
            raise InvalidInput(N_('Describe what the tool does (1 to 1000 characters): the model reads this.'))
        try:
            kind = ToolKind(draft.kind)
        except ValueError:
            raise InvalidInput(N_('The kind must be builtin, http or static.')) from None
        visibility, workshop_id = check_visibility(draft.visibility, draft.workshop_id)
        parameters = check_parameters(draft.parameters)
        config = draft.config or {}
        if kind == ToolKind.BUILTIN:
            builtin = self.builtins.get(str(config.get('builtin') or ''))
            config, parameters = {'builtin': builtin.key}, builtin.parameters
        elif kind == ToolKind.HTTP:
            config = validate_config(config, parameters)
        else:
            if 'response' not in config:
                raise InvalidInput(N_('A static tool needs a "response": the JSON it returns.'))
            try:
                size = len(json.dumps(config['response']))
            except (RecursionError, ValueError, TypeError):
                raise InvalidInput(N_('The static response is nested too deeply to store.')) from None
            if size > MAX_STATIC_CHARS:
                raise InvalidInput(N_('The static response is too large (at most 64 KB of JSON).'))
            config = {'response': config['response']}
        return {
            'name': name,
            'description': description,
            'kind': kind,
            'parameters': parameters,
            'config': config,
            'visibility': visibility,
            'workshop_id': workshop_id,
        }

    async def create(self, actor_id: int, draft: ToolDraft) -> ToolInfo:
        user = await self.auth.require(actor_id)
        data = self._clean(draft)
        await self.sharing.check_share(user, data['visibility'], data['workshop_id'])
        if await Tool.exists(owner_id=actor_id, name=data['name']):
            raise Conflict(N_('You already have a tool named {name}. Pick another name.', name=data['name']))
        row = await Tool.create(owner_id=actor_id, **data)
        return await self.get(actor_id, row.id)

    async def update(self, actor_id: int, tool_id: int, draft: ToolDraft) -> ToolInfo:
        user = await self.auth.require(actor_id)
        row = await self._owned(actor_id, tool_id)
        data = self._clean(draft)
        await self.sharing.check_share(
            user, data['visibility'], data['workshop_id'], current=(row.visibility, row.workshop_id)
        )
        if await Tool.filter(owner_id=actor_id, name=data['name']).exclude(id=row.id).exists():
            raise Conflict(N_('You already have a tool named {name}. Pick another name.', name=data['name']))
        await Tool.filter(id=row.id).update(**data)
        return await self.get(actor_id, row.id)

    async def delete(self, actor_id: int, tool_id: int) -> None:
        await (await self._owned(actor_id, tool_id)).delete()

    async def resolve(self, actor_id: int, refs: list[str]) -> list[ToolInfo]:
        """Tools by reference ('builtin:calculator', 'tool:12'), checked for access and unique names."""
        await self.auth.require(actor_id)
        out: list[ToolInfo] = []
        for ref in refs:
            kind, _, key = str(ref).partition(':')
            if kind == 'builtin':
                builtin = self.builtins.get(key)
                out.append(next(b for b in self.builtin_infos() if b.name == builtin.key))
            elif kind == 'tool' and key.isdigit():
                out.append(self._info(await self._visible(actor_id, int(key)), actor_id, redact=False))
            else:
                raise NotFound(N_('No such tool: {ref}.', ref=ref))
        names = [t.name for t in out]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInput(
                N_('Two selected tools are both called {dupes}; the model could not tell them apart.', dupes=dupes[0])
            )
        return out

    # ----- execution -----------------------------------------------------------------------------------------------
    async def execute(self, actor_id: int, ref: str, arguments: Any) -> ToolCallResult:
        """Run one tool. Failures are returned (not raised) so the loop can hand them to the model as text."""
        tool = (await self.resolve(actor_id, [ref]))[0]
        return await self.execute_tool(actor_id, tool, arguments)

    async def execute_tool(self, actor_id: int, tool: ToolInfo, arguments: Any) -> ToolCallResult:
        await self.auth.require(actor_id)
        started = time.perf_counter()
        args = dict(arguments) if isinstance(arguments, dict) else arguments
        try:
            args = check_arguments(tool.parameters, args)
            result = await self._run(actor_id, tool, args)
            outcome = ToolCallResult(name=tool.name, arguments=args, ok=True, result=result)
        except ServiceError as exc:
            outcome = ToolCallResult(
                name=tool.name, arguments=args if isinstance(args, dict) else {}, ok=False, error=exc.message
            )
        outcome.duration_ms = round((time.perf_counter() - started) * 1000, 1)
        await self.activity.record(
            actor_id,
            actions.TOOL_CALL,
            latency_ms=outcome.duration_ms,
            error=outcome.error,
            tool=tool.name,
            kind=tool.kind,
            ok=outcome.ok,
            arguments=_arguments_text(outcome.arguments),  # for a workshop step's checks (never shown in the feed)
        )
        return outcome

    async def _run(self, actor_id: int, tool: ToolInfo, args: dict[str, Any]) -> Any:
        if tool.kind == 'builtin':
            return await self.builtins.get(tool.config.get('builtin', '')).handler(ToolContext(actor_id=actor_id), args)
        if tool.kind == 'static':
            return tool.config.get('response')
        if tool.kind == 'http':
            try:
                return await http_call(
                    tool.config,
                    args,
                    await self.allow_entries(),
                    seconds=self.http_timeout,
                    max_bytes=self.http_max_bytes,
                )
            except UnsafeURL as exc:
                raise ToolFailed(N_('Refused: {message}', message=exc.message)) from None
        raise ToolFailed(N_('Unknown tool kind {kind}.', kind=tool.kind))

    # ----- HTTP allow-list (admin) ---------------------------------------------------------------------------------
    @staticmethod
    async def allow_entries() -> list[AllowEntry]:
        return [AllowEntry(host=r.host, port=r.port, allow_private=r.allow_private) for r in await AllowedHost.all()]

    async def allowed_hosts(self, actor_id: int) -> list[AllowedHostInfo]:
        await self.auth.require(actor_id, Role.ADMIN)
        rows = await AllowedHost.all().order_by('host', 'port')
        return [
            AllowedHostInfo(id=r.id, host=r.host, port=r.port, allow_private=r.allow_private, note=r.note) for r in rows
        ]

    async def allow_host(
        self, actor_id: int, host: str, port: int | None = None, *, allow_private: bool = False, note: str = ''
    ) -> AllowedHostInfo:
        await self.auth.require(actor_id, Role.ADMIN)
        try:
            name = normalise_host(host)
        except UnsafeURL as exc:
            raise InvalidInput(exc.message) from None
        if port is not None and not 1 <= int(port) <= 65535:
            raise InvalidInput(N_('The port must be between 1 and 65535 (or empty for any port).'))
        if allow_private and port is None:
            raise InvalidInput(N_('Allowing private or loopback addresses needs a specific port.'))
        same = AllowedHost.filter(host=name)
        same = same.filter(port=port) if port is not None else same.filter(port__isnull=True)
        if await same.exists():
            raise Conflict(
                N_('{name}{port} is already on the allow-list.', name=name, port=':' + str(port) if port else '')
            )
        try:
            row = await AllowedHost.create(
                host=name, port=port, allow_private=allow_private, note=(note or '')[:200], created_by_id=actor_id
            )
        except IntegrityError:
            raise Conflict(
                N_('{name}{port} is already on the allow-list.', name=name, port=':' + str(port) if port else '')
            ) from None
        return AllowedHostInfo(id=row.id, host=row.host, port=row.port, allow_private=row.allow_private, note=row.note)

    async def remove_allowed(self, actor_id: int, entry_id: int) -> None:
        await self.auth.require(actor_id, Role.ADMIN)
        deleted = await AllowedHost.filter(id=entry_id).delete()
        if not deleted:
            raise NotFound(N_('That allow-list entry no longer exists.'))


def _arguments_text(arguments: Any) -> str:
    """A call's arguments as JSON with sorted keys (what a workshop check's pattern is matched against)."""
    try:
        return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)[:2000]
    except (TypeError, ValueError):
        return str(arguments)[:2000]
