"""Settings: the one place where defaults live.

Every setting can be overridden by an environment variable of the same name (upper case) or by a `.env` file.
See `.env.example` for the documented list.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file='.env', env_file_encoding='utf-8', extra='ignore')

    # server
    host: str = Field('127.0.0.1', description='Address to bind. Use 0.0.0.0 inside a container.')
    port: int = Field(8080, ge=1, le=65535, description='Port to bind.')
    public_url: str = Field('', description='External URL of the platform (for OAuth redirects and join links).')

    # storage
    data_dir: Path = Field(Path('./data'), description='Holds the SQLite database, Milvus Lite file, uploads, storage.')
    database_url: str = Field('', description='Tortoise database URL; empty means SQLite in the data directory.')
    storage_secret: str = Field('', description='Secret for signing sessions; generated once into the data dir.')

    # ollama
    ollama_host: str = Field(
        'http://127.0.0.1:11434', description='Default Ollama host (one or more, comma separated).'
    )
    ollama_timeout: float = Field(300.0, gt=0, description='Seconds to wait for an Ollama reply to make progress.')
    ollama_connect_timeout: float = Field(5.0, gt=0, description='Seconds to wait when connecting to Ollama.')
    ollama_health_interval: float = Field(15.0, gt=0, description='Seconds between Ollama host health checks.')

    # vector store
    milvus_uri: str = Field('', description='Milvus URI; empty means Milvus Lite in the data directory.')
    milvus_token: str = Field('', description='Token for a Milvus server (user:password or API key).')

    # accounts
    signup_open_default: bool = Field(True, description='Whether open sign-up is on for a new installation.')
    login_max_failures: int = Field(5, ge=1, description='Failed logins allowed per account/address per window.')
    login_window_seconds: int = Field(300, ge=1, description='Window for counting failed logins.')
    password_min_length: int = Field(10, ge=8, le=128, description='Minimum password length.')

    # uploads
    max_upload_mb: int = Field(20, ge=1, description='Largest accepted upload, in megabytes.')
    embed_batch_size: int = Field(64, ge=1, le=1024, description='Texts per /api/embed call during ingestion.')

    # logging
    log_format: Literal['plain', 'json'] = Field('plain', description='Log line format.')
    log_level: str = Field('INFO', description='Log level.')

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
        return f'sqlite://{self.data_dir / "platform.db"}?busy_timeout=10000'

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


# used by the aerich command line (`aerich migrate`); the app builds its own from Settings
TORTOISE_ORM = tortoise_config(Settings().db_url)
