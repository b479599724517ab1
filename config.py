"""Settings: the one place where defaults live.

Every setting can be overridden by an environment variable of the same name (upper case) or by a `.env` file.
See `.env.example` for the documented list.
"""

from __future__ import annotations

import os
import secrets
import sys
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file='.env', env_file_encoding='utf-8', extra='ignore')

    # server
    host: str = Field('127.0.0.1', description='Address to bind. Use 0.0.0.0 inside a container.')
    port: int = Field(8080, ge=1, le=65535, description='Port to bind.')
    public_url: str = Field('', description='External URL of the platform (for OAuth redirects and join links).')
    shutdown_timeout: float = Field(
        8.0,
        gt=0,
        le=3600,
        description='Seconds requests in flight may take to finish after SIGTERM before they are cut (docker stop '
        'waits 10 s by default, then kills).',
    )
    cookie_secure: str = Field(
        'auto',
        pattern='^(auto|always|never)$',
        description='Mark cookies Secure: auto = when served over HTTPS (scheme from a trusted proxy, or an https '
        'PUBLIC_URL), always, or never.',
    )
    trusted_proxies: str = Field(
        '',
        description='Addresses or networks of your reverse proxies (comma separated, e.g. 10.0.0.0/8,127.0.0.1): only '
        "their X-Forwarded-For / X-Forwarded-Proto are believed. Empty: nobody's are.",
    )

    # storage
    data_dir: Path = Field(Path('./data'), description='Holds the SQLite database, Milvus Lite file, uploads, storage.')
    database_url: str = Field('', description='Tortoise database URL; empty means SQLite in the data directory.')
    storage_secret: str = Field('', description='Secret for signing sessions; generated once into the data dir.')
    redis_url: str = Field(
        '',
        description='Redis that several app processes share (redis://host:6379/0): browser sessions, so signing in '
        'or out on one process counts on all. Empty: one process, nothing shared. Needs the redis extra.',
    )

    # ollama
    ollama_host: str = Field(
        'http://127.0.0.1:11434', description='Default Ollama host (one or more, comma separated).'
    )
    ollama_timeout: float = Field(300.0, gt=0, description='Seconds to wait for an Ollama reply to make progress.')
    ollama_idle_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description='Seconds a started reply may send nothing before it is ended as stuck (a hung Ollama).',
    )
    ollama_connect_timeout: float = Field(5.0, gt=0, description='Seconds to wait when connecting to Ollama.')
    ollama_health_interval: float = Field(15.0, gt=0, description='Seconds between Ollama host health checks.')
    catalogue_refresh_interval: float = Field(
        60.0, gt=0, description='Seconds between background refreshes of the model catalogue of every host.'
    )
    ollama_slots: int = Field(
        4, ge=1, le=256, description='Generations one Ollama host runs at once (a host may set its own number).'
    )
    ollama_embed_slots: int = Field(2, ge=1, le=64, description='Embedding calls one Ollama host runs at once.')
    queue_max_wait_seconds: float = Field(
        30.0, gt=0, le=600, description='Longest a model call waits for a free slot before "the room is busy".'
    )
    queue_max_per_user: int = Field(20, ge=1, le=1000, description='Most model calls one user may have waiting.')
    ollama_embed_hosts: str = Field(
        '', description='Comma-separated hosts that embeddings go to (empty: any host that has the model).'
    )
    ollama_down_seconds: float = Field(
        15.0, gt=0, le=3600, description='How long a host that failed is skipped before it is tried again.'
    )
    chat_max_streams_per_user: int = Field(
        4,
        ge=1,
        le=64,
        description='Model calls one user may have running at once, on every path.',
    )
    chat_max_image_mb: float = Field(
        5,
        gt=0,
        le=100,
        description='Largest image attached to a chat message (PNG, JPEG, WebP or GIF), in megabytes; at most 4 a '
        'message, and all images of one model call also count towards API_MAX_PROMPT_CHARS (as base64).',
    )
    chat_import_max_mb: int = Field(
        50, ge=1, le=1000, description='Largest conversations file (JSON export) accepted for import, in megabytes.'
    )

    # vector store
    milvus_uri: str = Field('', description='Milvus URI; empty means Milvus Lite in the data directory.')
    milvus_token: str = Field('', description='Token for a Milvus server (user:password or API key).')
    milvus_lite_process: bool = Field(
        True,
        description='Run Milvus Lite in a process of its own, on another core (false: inside the app process).',
    )

    # accounts
    signup_open_default: bool = Field(True, description='Whether open sign-up is on for a new installation.')
    login_max_failures: int = Field(
        5,
        ge=1,
        description='Wrong passwords for one account from one address before each further try waits (1 s, 2 s, 4 s '
        '... up to the window); the owner elsewhere is not slowed.',
    )
    login_account_max_failures: int = Field(
        50, ge=1, description='Wrong passwords for one account from all addresses before tries wait (backoff).'
    )
    login_source_max_failures: int = Field(
        100,
        ge=1,
        description='Wrong passwords from one address over all accounts before tries wait (backoff); a classroom '
        'behind one NAT address shares it.',
    )
    login_window_seconds: int = Field(300, ge=1, description='Window for counting failed logins.')
    password_min_length: int = Field(10, ge=8, le=128, description='Minimum password length.')

    # REST API, OpenAI-compatible gateway and single sign-on
    api_max_prompt_chars: int = Field(
        1_000_000,
        ge=1000,
        description='Largest prompt (messages, tools, inputs) of one model call, on every path.',
    )
    api_max_num_ctx: int = Field(
        32_768,
        ge=512,
        le=131_072,
        description='Largest num_ctx option a model call may ask for, on every path, until an admin sets another '
        '(Users page, "Ranges of model options").',
    )
    api_max_num_predict: int = Field(
        8_192, ge=1, le=32_768, description='Largest num_predict option, until an admin sets another (as num_ctx).'
    )
    api_max_top_k: int = Field(1000, ge=1, le=1000, description='Largest top_k option, until an admin sets another.')
    api_max_temperature: float = Field(
        2.0, ge=0.0, le=2.0, description='Largest temperature option, until an admin sets another.'
    )
    oidc_discovery_url: str = Field(
        '', description='OpenID Connect discovery URL (…/.well-known/openid-configuration); empty disables OIDC.'
    )
    oidc_client_id: str = Field('', description='OIDC client id registered at the identity provider.')
    oidc_client_secret: str = Field('', description='OIDC client secret (from the environment, never from git).')
    oidc_scopes: str = Field('openid email profile', description='Scopes requested from the OIDC provider.')
    oidc_name: str = Field('Single sign-on', description='Label of the OIDC button: "Sign in with <name>".')
    oidc_role_claim: str = Field(
        '', description='ID-token claim holding groups/roles, e.g. "groups"; empty: no mapping.'
    )
    oidc_role_map: str = Field(
        '', description='Claim values to platform roles, e.g. "platform-admins=admin,teachers=instructor".'
    )
    github_client_id: str = Field('', description='GitHub OAuth app client id; empty disables GitHub sign-in.')
    github_client_secret: str = Field('', description='GitHub OAuth app client secret.')
    github_url: str = Field('https://github.com', description='GitHub web URL (GitHub Enterprise: your server).')
    github_api_url: str = Field('https://api.github.com/', description='GitHub API URL (Enterprise: …/api/v3/).')
    sso_create_accounts: bool = Field(
        True, description='Create an account on first single sign-on (else only existing accounts may link).'
    )

    sso_first_user_admin: bool = Field(
        False, description='On a platform without accounts, make the first single sign-on user an admin.'
    )

    # workshops
    join_max_failures: int = Field(
        30,
        ge=1,
        description='Wrong workshop join codes from one address before each further try waits (backoff); a classroom '
        'behind one NAT address shares it.',
    )
    join_accounts_per_source: int = Field(
        1000,
        ge=1,
        description='New attendee accounts made by joining by code from one address per window (a room behind one '
        'NAT address shares it).',
    )
    join_window_seconds: int = Field(300, ge=1, description='Window for counting joins by code.')
    workshop_sample_seconds: float = Field(
        5.0, gt=0, description='Seconds between live-dashboard samples (presence, usage charts, Ollama load).'
    )
    workshop_keep_alive: str = Field(
        '30m',
        pattern=r'^(-1|\d+|(\d+(\.\d+)?(s|m|h))+)$',
        description="How long Ollama keeps a workshop's model loaded after its warm-up (the pre-flight panel and the "
        'keep-alive of live workshops), e.g. 30m or 2h.',
    )
    workshop_gc_freeze: bool = Field(
        True,
        description='With 50+ attendees, run garbage collection at chosen moments and gc.freeze() the survivors '
        '(avoids random ~250 ms full-collection pauses on the live dashboard).',
    )
    metrics_token: str = Field('', description='Bearer token for GET /metrics (Prometheus); empty turns metrics off.')
    bench_endpoint: bool = Field(
        False, description='Enable /api/bench/act (records activity for the signed-in user); benchmarks only.'
    )

    # uploads
    min_free_disk_mb: int = Field(
        100, ge=0, description='Free space the data directory needs; below it /health/ready reports the disk as full.'
    )
    max_upload_mb: int = Field(20, ge=1, description='Largest accepted upload, in megabytes.')
    max_upload_files: int = Field(20, ge=1, le=1000, description='Most files in one upload.')
    max_upload_request_mb: int = Field(
        100, ge=1, description='Largest upload request (all its files together), in megabytes.'
    )
    max_body_mb: int = Field(
        8, ge=1, description='Largest request body other than an upload (JSON, forms), in megabytes, on every route.'
    )
    extract_max_unpacked_mb: int = Field(
        100,
        ge=1,
        description='Most bytes a document may unpack to (all members of a DOCX, all streams of a PDF), in megabytes.',
    )
    extract_max_members: int = Field(2000, ge=10, description='Most files inside one zip-based document (DOCX).')
    extract_memory_mb: int = Field(
        768, ge=128, description='Memory one text extraction may use (in its worker process), in megabytes.'
    )
    extract_cpu_seconds: float = Field(
        10.0, gt=0, le=600, description='CPU seconds one text extraction may use before the file is refused.'
    )
    embed_batch_size: int = Field(64, ge=1, le=1024, description='Texts per /api/embed call during ingestion.')
    ingest_lease_seconds: float = Field(
        30.0,
        ge=3,
        le=3600,
        description='How long an ingestion job or a model pull stays claimed by its app process without a renewal; '
        'the work of a process that died is taken over by another after this.',
    )
    ingest_workers: int = Field(
        1, ge=0, le=32, description='Worker processes that split documents during ingestion (0: threads of the app).'
    )

    # prompts and tools
    prompt_batch_max_rows: int = Field(200, ge=1, le=5000, description='Most rows in one batch run of a prompt.')
    tool_loop_max_steps: int = Field(5, ge=1, le=20, description='Most rounds of tool calls in one chat turn.')
    tool_http_timeout: float = Field(10.0, gt=0, le=120, description='Seconds an HTTP tool may take to answer.')
    tool_http_max_kb: int = Field(256, ge=1, le=10240, description='Largest HTTP tool response, in kilobytes.')

    # logging and error tracking
    log_format: Literal['plain', 'json'] = Field(
        'plain', description='Log line format: plain, or json (one object a line, with request, user and workshop ids).'
    )
    log_level: str = Field('INFO', description='Log level.')
    sentry_dsn: str = Field('', description='Sentry (or GlitchTip) DSN for error tracking; empty turns it off.')
    sentry_environment: str = Field('production', description='Environment name shown in the error tracker.')
    sentry_send_pii: bool = Field(
        False, description='Also send request bodies (prompts), emails, IPs and headers to the error tracker.'
    )

    @field_validator('trusted_proxies')
    @classmethod
    def _networks(cls, value: str) -> str:
        from services.core.client_address import parse_trusted

        parse_trusted(value)  # a ValueError names the entry
        return value

    @field_validator('redis_url')
    @classmethod
    def _redis(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(('redis://', 'rediss://', 'unix://')):
            raise ValueError('use a redis://host:6379/0 (or rediss:// or unix://) URL')
        if value:
            import importlib.util

            if importlib.util.find_spec('redis') is None:
                raise ValueError("the redis package is missing: pip install '.[redis]' (the image has it)")
        return value

    @field_validator('data_dir')
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def ollama_hosts(self) -> list[str]:
        return [h.strip().rstrip('/') for h in self.ollama_host.split(',') if h.strip()]

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / 'uploads'

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / 'storage'

    @property
    def milvus_location(self) -> str:
        return self.milvus_uri or str(self.data_dir / 'milvus.db')

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        # WAL (Tortoise's default) with synchronous=NORMAL: commits survive a crash of the app; only a power cut
        # can lose the last few. The setting SQLite recommends for WAL, and what Rails and Django deployments use.
        return f'sqlite://{self.data_dir / "platform.db"}?busy_timeout=10000&synchronous=NORMAL'

    @cached_property
    def secret(self) -> str:
        """The storage secret: from the environment, else generated once and kept in the data directory."""
        if self.storage_secret:
            return self.storage_secret
        path = self.data_dir / 'storage_secret'
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        path.chmod(0o600)
        return value

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.uploads_dir, self.storage_dir):
            path.mkdir(parents=True, exist_ok=True)


def tortoise_config(db_url: str) -> dict:
    return {
        'connections': {'default': db_url},
        'apps': {'models': {'models': ['models', 'aerich.models'], 'default_connection': 'default'}},
        'use_tz': True,
        'timezone': 'UTC',
    }


def load_settings() -> Settings:
    """The settings from the environment (and `.env`); a wrong value stops the start with one plain line per problem
    — the name, the value, what is allowed — and exit code 2, never a traceback."""
    try:
        settings = Settings()
    except ValidationError as exc:
        print(settings_problems(exc), file=sys.stderr)
        raise SystemExit(2) from None
    import importlib.util

    if os.environ.get('NICEGUI_REDIS_URL') and importlib.util.find_spec('redis') is None:  # NiceGUI's own setting
        print(
            'The platform cannot start: 1 setting(s) are wrong.\n'
            f'  NICEGUI_REDIS_URL={os.environ["NICEGUI_REDIS_URL"][:80]!r}: the redis package is missing: pip install '
            "'.[redis]' (the image has it); or set REDIS_URL instead, which the platform checks and passes on.",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return settings


def settings_problems(exc: ValidationError) -> str:
    lines = [f'The platform cannot start: {exc.error_count()} setting(s) are wrong.']
    for error in exc.errors():
        name = str(error['loc'][0]) if error.get('loc') else ''
        field = Settings.model_fields.get(name)
        what = error['msg'].removeprefix('Value error, ')
        what = what[0].lower() + what[1:] if what else 'is not allowed'
        if what.startswith('input should'):
            what = 'should' + what.removeprefix('input should')
        value = error.get('input')
        shown = '(not set)' if value is None else repr(value if not isinstance(value, str) else value[:80])
        about = f' ({field.description})' if field and field.description else ''
        lines.append(f'  {name.upper()}={shown}: {what}.{about}')
    lines.append('Fix these in the environment or in .env (see .env.example) and start again.')
    return '\n'.join(lines)


def __getattr__(name: str):
    # used by the aerich command line (`aerich migrate`), read only when asked for; the app builds its own
    if name == 'TORTOISE_ORM':
        return tortoise_config(load_settings().db_url)
    raise AttributeError(name)
