"""Personal API tokens (/tokens) and your own usage against quotas (/usage)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from nicegui import APIRouter, ui

from components.forms import confirm, error_label, guarded, loading
from components.frame import frame
from pages.common import page_user
from services.core.auth import UserInfo
from services.core.errors import ServiceError
from services.core.tokens import TokenInfo
from services.wiring import Services

EXPIRY_CHOICES = {0: 'Never', 7: '7 days', 30: '30 days', 90: '90 days', 365: '1 year'}


def create_router(services: Services) -> APIRouter:
    router = APIRouter()

    @router.page('/tokens')
    async def tokens_page(request: Request) -> None:
        user = await page_user(services)
        if user is None:
            return
        base = (services.settings.public_url or str(request.base_url)).rstrip('/')
        with frame(services, user, 'API tokens'):
            ui.label(
                'Personal tokens let notebooks and scripts use the platform as you: the REST API under /api/v1 and '
                'the OpenAI-compatible gateway under /v1. Send a token only in the "Authorization: Bearer" header.'
            ).classes('text-gray-600 dark:text-gray-300')
            with ui.card().classes('w-full max-w-2xl gap-2'):
                ui.label('Create a token').classes('text-lg font-semibold')
                with ui.row().classes('w-full items-start gap-4'):
                    name = (
                        ui.input('Name', placeholder='e.g. laptop notebook')
                        .props('outlined dense maxlength=80')
                        .classes('grow')
                        .mark('token-name')
                    )
                    expiry = (
                        ui.select(EXPIRY_CHOICES, value=90, label='Expires')
                        .props('outlined dense')
                        .classes('w-36')
                        .mark('token-expiry')
                    )
                    create = ui.button('Create token', icon='add', on_click=lambda: create_token()).mark('token-create')
                error = error_label()
                secret_box = ui.column().classes('w-full gap-1')

            async def create_token() -> None:
                error.set_visibility(False)
                with loading(create):
                    try:
                        days = int(expiry.value or 0) or None
                        new = await services.tokens.create(user.id, name.value or '', expires_in_days=days)
                    except ServiceError as exc:
                        error.text = exc.message
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
                    ui.label(exc.message).classes('text-negative')
                    return
                if not tokens:
                    ui.label('You have no tokens yet. Create one above.').classes('text-gray-500')
                    return
                now = datetime.now(UTC)
                for token in tokens:
                    _token_row(services, user, token, token.status(now), token_list.refresh)

            ui.label('Your tokens').classes('text-lg font-semibold mt-2')
            with ui.column().classes('w-full gap-1'):
                await token_list()
            _usage_example(base)

    @router.page('/usage')
    async def usage_page() -> None:
        user = await page_user(services)
        if user is None:
            return
        with frame(services, user, 'My usage'):
            try:
                usages = await services.quotas.usage(user.id)
            except ServiceError as exc:
                ui.label(exc.message).classes('text-negative')
                return
            if not usages:
                ui.label('No limits apply to you. Your instructor can set request or token limits.').classes(
                    'text-gray-500'
                ).mark('no-quotas')
            for usage in usages:
                scope = 'Your limit' if usage.scope == 'user' else f'Workshop {usage.workshop_id}'
                period = 'today (UTC)' if usage.period == 'day' else 'this workshop session'
                with ui.card().classes('w-full max-w-2xl gap-2'):
                    ui.label(f'{scope}, {period}').classes('text-lg font-semibold')
                    for label, used, limit in (
                        ('Requests', usage.requests, usage.max_requests),
                        ('Tokens', usage.tokens, usage.max_tokens),
                    ):
                        if limit is None:
                            ui.label(f'{label}: {used:,} (no limit)')
                            continue
                        ui.label(f'{label}: {used:,} of {limit:,}').mark(f'usage-{label.lower()}')
                        ratio = min(used / limit, 1.0) if limit else 1.0
                        color = 'negative' if ratio >= 1 else 'warning' if ratio >= 0.8 else 'primary'
                        ui.linear_progress(value=ratio, show_value=False, color=color)
                    ui.label(usage.describe_reset()).classes('text-sm text-gray-500')
            recent = await services.activity.recent_for_user(user.id, limit=10)
            ui.label('Recent model calls').classes('text-lg font-semibold mt-2')
            calls = [a for a in recent if a.model]
            if not calls:
                ui.label('Nothing yet.').classes('text-gray-500')
            for item in calls:
                tokens = f' · {item.tokens:,} tokens' if item.tokens else ''
                ui.label(f'{item.created_at:%Y-%m-%d %H:%M} · {item.action} · {item.model}{tokens}').classes('text-sm')

    return router


def _show_secret(box: ui.column, secret: str) -> None:
    box.clear()
    with box, ui.card().classes('w-full bg-green-50 dark:bg-green-950').props('flat bordered'):
        ui.label('Your new token. Copy it now: it will not be shown again.').classes('font-semibold')
        with ui.row().classes('w-full items-center no-wrap gap-2'):
            ui.label(secret).classes('font-mono text-sm break-all grow').mark('token-secret')

            async def copy() -> None:
                ui.clipboard.write(secret)
                ui.notify('Token copied to the clipboard.', type='positive')

            ui.button(icon='content_copy', on_click=copy).props('flat round aria-label="Copy token"').mark(
                'token-copy'
            ).tooltip('Copy')
        ui.button('Done, I stored it', on_click=box.clear).props('flat dense')


def _token_row(services: Services, user: UserInfo, token: TokenInfo, status: str, refresh) -> None:
    with ui.card().classes('w-full py-2').props('flat bordered'), ui.row().classes('w-full items-center gap-4'):
        with ui.column().classes('gap-0 min-w-[14rem]'):
            ui.label(token.name).classes('font-semibold')
            ui.label(f'{token.prefix}…').classes('font-mono text-xs text-gray-500')
        used = f'{token.last_used_at:%Y-%m-%d %H:%M}' if token.last_used_at else 'never'
        expires = f'{token.expires_at:%Y-%m-%d}' if token.expires_at else 'never'
        ui.label(f'Created {token.created_at:%Y-%m-%d} · last used {used} · expires {expires}').classes(
            'text-sm text-gray-500'
        )
        ui.space()
        color = {'active': 'positive', 'expired': 'warning', 'revoked': 'grey'}[status]
        ui.badge(status, color=color)
        if status != 'revoked':

            async def revoke() -> None:
                if not await confirm(
                    f'Revoke "{token.name}"?', 'Scripts using it stop working at once.', action='Revoke'
                ):
                    return
                if await guarded(lambda: services.tokens.revoke(user.id, token.id), success='Token revoked.'):
                    refresh()

            ui.button(icon='block', on_click=revoke).props('flat round').mark(f'revoke-{token.name}').tooltip('Revoke')


def _usage_example(base: str) -> None:
    ui.label('Use it').classes('text-lg font-semibold mt-2')
    ui.code(
        f"""from openai import OpenAI

client = OpenAI(base_url='{base}/v1', api_key='owp_...')
reply = client.chat.completions.create(model='llama3.2', messages=[{{'role': 'user', 'content': 'Hello'}}])
print(reply.choices[0].message.content)""",
        language='python',
    ).classes('w-full max-w-3xl')
    ui.markdown(f'REST API documentation: [{base}/docs]({base}/docs)')
