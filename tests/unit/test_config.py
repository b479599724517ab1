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


def test_several_ollama_hosts_in_ollama_host_do_not_break_start_up() -> None:
    """OLLAMA_HOST may list several hosts; the `ollama` package reads that variable when imported and must not fail."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}
    env['OLLAMA_HOST'] = 'http://127.0.0.1:11434, http://10.0.0.5:11434'
    code = 'import config, services.wiring; print(config.Settings().ollama_hosts)'
    done = subprocess.run(
        [sys.executable, '-c', code], cwd=Path(__file__).parents[2], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "['http://127.0.0.1:11434', 'http://10.0.0.5:11434']" in done.stdout


def test_wrong_settings_stop_the_start_with_one_sentence_each(tmp_path: Path) -> None:
    """A mistyped setting prints the name, the value and what is allowed — one line each — and exits with code 2,
    no traceback (before: a pydantic traceback)."""
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if k not in Settings.model_fields and k.lower() not in Settings.model_fields
    }
    env.update(DATA_DIR=str(tmp_path), CHAT_MAX_STREAMS_PER_USER='100', PORT='eighty', LOG_FORMAT='xml')
    run = subprocess.run(
        [sys.executable, str(ROOT / 'app.py')], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert 'Traceback' not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[0] == 'The platform cannot start: 3 setting(s) are wrong.'
    assert "  CHAT_MAX_STREAMS_PER_USER='100': should be less than or equal to 64." in run.stderr
    assert "  PORT='eighty': should be a valid integer" in run.stderr
    assert "  LOG_FORMAT='xml': should be 'plain' or 'json'." in run.stderr


def test_redis_url_is_checked_and_named(monkeypatch) -> None:
    """REDIS_URL must be a Redis URL (a mistyped scheme is one sentence, not a crash at the first page view)."""
    from pydantic import ValidationError

    from config import settings_problems

    monkeypatch.setenv('REDIS_URL', 'localhost:6379')
    try:
        Settings()
    except ValidationError as exc:
        assert "REDIS_URL='localhost:6379': use a redis://host:6379/0" in settings_problems(exc)
    else:
        raise AssertionError('a REDIS_URL without a scheme was accepted')
    monkeypatch.setenv('REDIS_URL', 'redis://127.0.0.1:6379/0')
    assert Settings().redis_url == 'redis://127.0.0.1:6379/0'
