"""Configuration: documented, overridable, and no secret in code."""

from __future__ import annotations

from pathlib import Path

from config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented_in_env_example() -> None:
    text = (ROOT / '.env.example').read_text()
    missing = [name.upper() for name in Settings.model_fields if f'{name.upper()}=' not in text]
    assert not missing, f'.env.example lacks: {missing}'


def test_environment_overrides_and_defaults(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv('DATA_DIR', str(tmp_path))
    monkeypatch.setenv('PORT', '9123')
    settings = Settings()
    assert settings.host == '127.0.0.1' and settings.port == 9123
    assert settings.db_url.startswith(f'sqlite://{tmp_path}/platform.db')
    assert settings.milvus_location == str(tmp_path / 'milvus.db')


def test_storage_secret_is_generated_once_and_kept(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv('DATA_DIR', str(tmp_path))
    monkeypatch.delenv('STORAGE_SECRET', raising=False)
    first = Settings().secret
    assert len(first) >= 40
    assert Settings().secret == first
    assert (tmp_path / 'storage_secret').stat().st_mode & 0o077 == 0
    monkeypatch.setenv('STORAGE_SECRET', 'from-the-environment')
    assert Settings().secret == 'from-the-environment'
