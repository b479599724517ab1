"""Personal API tokens (/tokens) and your own usage against quotas (/usage)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from nicegui import APIRouter, ui

from components.code_block import code_block
from components.forms import confirm, error_label, guarded, loading
from components.frame import frame
from pages.common import page_user
from services.core import i18n
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.i18n import _
from services.core.quotas import Usage
from services.core.tokens import TokenInfo
from services.wiring import Services


def expiry_choices() -> dict[int, str]:
    return {0: _('Never'), 7: _('7 days'), 30: _('30 days'), 90: _('90 days'), 365: _('1 year')}


def reset_text(usage: Usage) -> str:
    """When a quota's usage starts again from zero, in the current language."""
    if usage.resets_at is None:
        return _('It resets when your instructor starts a new workshop session.')
    return _('It resets at {time} UTC.', time=i18n.moment(usage.resets_at.astimezone(UTC)))


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/tokens')
    async def tokens_page(request: Request) -> None:
        user = await page_user(services)
        if user is None:
            return
        base = (services.settings.public_url or str(request.base_url)).rstrip('/')
        with frame(services, user, _('API tokens')):
            ui.label(
                _(
                    'Personal tokens let notebooks and scripts use the platform as you: the REST API under /api/v1 '
                    'and the OpenAI-compatible gateway under /v1. Send a token only in the "Authorization: Bearer" '
                    'header.'
                )
            ).classes('text-gray-700 dark:text-gray-300')
            with ui.card().classes('w-full max-w-2xl gap-2'):
                ui.label(_('Create a token')).classes('text-lg font-semibold')
                with ui.row().classes('w-full items-start gap-4'):
                    name = (
                        ui.input(_('Name'), placeholder=_('e.g. laptop notebook'))
                        .props('outlined dense maxlength=80')
                        .classes('grow')
                        .mark('token-name')
                    )
                    expiry = (
                        ui.select(expiry_choices(), value=90, label=_('Expires'))
                        .props('outlined dense')
                        .classes('w-36')
                        .mark('token-expiry')
                    )
                    create = ui.button(_('Create token'), icon='add', on_click=lambda: create_token())
                    create.mark('token-create')
                error = error_label()
                secret_box = ui.column().classes('w-full gap-1').props('aria-live=polite')

            async def create_token() -> None:
                error.set_visibility(False)
                with loading(create):
                    try:
                        days = int(expiry.value or 0) or None
                        new = await services.tokens.create(user.id, name.value or '', expires_in_days=days)
                    except ServiceError as exc:
                        error.text = _(exc.message)
                        error.set_visibility(True)
                        return
                name.value = ''
                _show_secret(secret_box, new.secret)
                token_list.refresh()

            name.on('keydown.enter', create_token)

            @ui.refreshable
            async def token_list() -> None:
                try:
                    tokens = await services.tokens.list(user.id)
                except ServiceError as exc:
                    ui.label(_(exc.message)).classes('text-negative')
                    return
                if not tokens:
                    ui.label(_('You have no tokens yet. Create one above.')).classes('text-gray-700 dark:text-gray-300')
                    return
                now = datetime.now(UTC)
                for token in tokens:
                    _token_row(services, user, token, token.status(now), token_list.refresh)

            ui.label(_('Your tokens')).classes('text-lg font-semibold mt-2')
            with ui.column().classes('w-full gap-1'):
                await token_list()
            _usage_example(base)

    @router.page('/usage')
    async def usage_page() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, _('My usage')):
            try:
                usages = await services.quotas.usage(user.id)
            except ServiceError as exc:
                ui.label(_(exc.message)).classes('text-negative')
                return
            if not usages:
                ui.label(_('No limits apply to you. Your instructor can set request or token limits.')).classes(
                    'text-gray-700 dark:text-gray-300'
                ).mark('no-quotas')
            for usage in usages:
                if usage.scope == 'user' and usage.period == 'day':
                    title = _('Your limit, today (UTC)')
                elif usage.scope == 'user':
                    title = _('Your limit, this workshop session')
                elif usage.period == 'day':
                    title = _('Workshop {number}, today (UTC)', number=usage.workshop_id)
                else:
                    title = _('Workshop {number}, this workshop session', number=usage.workshop_id)
                with ui.card().classes('w-full max-w-2xl gap-2'):
                    ui.label(title).classes('text-lg font-semibold')
                    for key, used, limit in (
                        ('requests', usage.requests, usage.max_requests),
                        ('tokens', usage.tokens, usage.max_tokens),
                    ):
                        if limit is None:
                            ui.label(
                                _('Requests: {used} (no limit)', used=i18n.number(used))
                                if key == 'requests'
                                else _('Tokens: {used} (no limit)', used=i18n.number(used))
                            )
                            continue
                        numbers = {'used': i18n.number(used), 'limit': i18n.number(limit)}
                        text = (
                            _('Requests: {used} of {limit}', **numbers)
                            if key == 'requests'
                            else _('Tokens: {used} of {limit}', **numbers)
                        )
                        ui.label(text).mark(f'usage-{key}')
                        ratio = min(used / limit, 1.0) if limit else 1.0
                        color = 'negative' if ratio >= 1 else 'warning' if ratio >= 0.8 else 'primary'
                        bar = ui.linear_progress(value=ratio, show_value=False, color=color)
                        bar._props['aria-label'] = text
                    ui.label(reset_text(usage)).classes('text-sm text-gray-700 dark:text-gray-300')
            recent = await services.activity.recent_for_user(user.id, limit=10)
            ui.label(_('Recent model calls')).classes('text-lg font-semibold mt-2')
            calls = [a for a in recent if a.model]
            if not calls:
                ui.label(_('Nothing yet.')).classes('text-gray-700 dark:text-gray-300')
            for item in calls:
                when = i18n.moment(item.created_at)
                ui.label(
                    _(
                        '{when} · {action} · {model} · {tokens} tokens',
                        when=when,
                        action=item.action,
                        model=item.model,
                        tokens=i18n.number(item.tokens),
                    )
                    if item.tokens
                    else f'{when} · {item.action} · {item.model}'
                ).classes('text-sm')

    return router


def _show_secret(box: ui.column, secret: str) -> None:
    box.clear()
    with box, ui.card().classes('w-full bg-green-50 dark:bg-green-950').props('flat bordered'):
        ui.label(_('Your new token. Copy it now: it will not be shown again.')).classes('font-semibold')
        with ui.row().classes('w-full items-center no-wrap gap-2'):
            ui.label(secret).classes('font-mono text-sm break-all grow').mark('token-secret')

            async def copy() -> None:
                ui.clipboard.write(secret)
                ui.notify(_('Token copied to the clipboard.'), type='positive')

            copy_button = ui.button(icon='content_copy', on_click=copy).props('flat round').mark('token-copy')
            copy_button._props['aria-label'] = _('Copy token')
            copy_button.tooltip(_('Copy'))
        ui.button(_('Done, I stored it'), on_click=box.clear).props('flat dense')


def _token_row(services: Services, user: UserInfo, token: TokenInfo, status: str, refresh) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        with ui.column().classes('gap-0 min-w-[14rem]'):
            ui.label(token.name).classes('font-semibold')
            ui.label(f'{token.prefix}…').classes('font-mono text-xs text-gray-700 dark:text-gray-300')
        used = i18n.moment(token.last_used_at) if token.last_used_at else _('never')
        expires = i18n.day(token.expires_at) if token.expires_at else _('never')
        ui.label(
            _(
                'Created {created} · last used {used} · expires {expires}',
                created=i18n.day(token.created_at),
                used=used,
                expires=expires,
            )
        ).classes('text-sm text-gray-700 dark:text-gray-300')
        ui.space()
        color = {'active': 'positive', 'expired': 'warning', 'revoked': 'grey-8'}[status]
        ui.badge(_(status), color=color)
        if status != 'revoked':

            async def revoke() -> None:
                if not await confirm(
                    _('Revoke "{name}"?', name=token.name),
                    _('Scripts using it stop working at once.'),
                    action=_('Revoke'),
                ):
                    return
                if await guarded(lambda: services.tokens.revoke(user.id, token.id), success=_('Token revoked.')):
                    refresh()

            button = ui.button(icon='block', on_click=revoke).props('flat round').mark(f'revoke-{token.name}')
            button.tooltip(_('Revoke'))
            button._props['aria-label'] = _('Revoke the token {name}', name=token.name)


def _usage_example(base: str) -> None:
    ui.label(_('Use it')).classes('text-lg font-semibold mt-2')
    code_block(
        f"""from openai import OpenAI

client = OpenAI(base_url='{base}/v1', api_key='owp_...')
reply = client.chat.completions.create(model='llama3.2', messages=[{{'role': 'user', 'content': 'Hello'}}])
print(reply.choices[0].message.content)""",
        language='python',
    ).classes('w-full max-w-3xl')
    ui.markdown(_('REST API documentation: [{url}]({url})', url=base + '/docs'))
