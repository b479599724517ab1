"""The container files pass their linters: hadolint on the Dockerfile, the Compose specification's JSON schema on
docker-compose.yml; and every image they start from is pinned to a release, the same Ollama in both."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.dockerfile import DOCKERFILE, ROOT, stages

COMPOSE = ROOT / 'docker-compose.yml'
SCALE = ROOT / 'docker-compose.scale.yml'  # several app processes behind HAProxy (issue 16)
# image:1.2.3[-variant], v1.2.3, or 16.4 for images released by major.minor (PostgreSQL)
RELEASE_TAG = re.compile(r'^[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$')


def _tool(name: str) -> str:
    """A command-line tool of the test extras, next to this Python first (the venv need not be on PATH)."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        pytest.fail(f'{name} is missing: install the test extras (pip install -e ".[test]")')
    return found


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool('hadolint'), '--no-color', '--failure-threshold', 'info', str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, f'hadolint:\n{result.stdout}{result.stderr}'


def test_hadolint_would_report_an_unpinned_image(tmp_path: Path) -> None:
    bad = tmp_path / 'Dockerfile'
    bad.write_text('FROM python:latest\nUSER nobody\nCMD ["python"]\n')
    result = _hadolint(bad)
    assert result.returncode != 0 and 'DL3007' in result.stdout, result.stdout + result.stderr


def _compose_check(path: Path) -> subprocess.CompletedProcess[str]:
    # the schema is vendored in check-jsonschema: no network
    return subprocess.run(
        [sys.executable, '-m', 'check_jsonschema', '--builtin-schema', 'vendor.compose-spec', str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize('compose', [COMPOSE, SCALE], ids=lambda p: p.name)
def test_compose_file_follows_the_compose_specification(compose: Path) -> None:
    result = _compose_check(compose)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_check_would_report_a_misspelt_key(tmp_path: Path) -> None:
    bad = tmp_path / 'compose.yml'
    bad.write_text('services:\n  platform:\n    build: .\n    volumse: [data:/data]\n')
    result = _compose_check(bad)
    assert result.returncode != 0 and 'volumse' in result.stdout, result.stdout + result.stderr


def _compose_images(compose: Path = COMPOSE) -> dict[str, str]:
    services = yaml.safe_load(compose.read_text())['services']
    return {name: service['image'] for name, service in services.items() if 'image' in service}


def test_every_image_is_pinned_to_a_release() -> None:
    named = stages()
    external = {stage.image for stage in named.values() if stage.image not in named}
    images = external | set(_compose_images().values()) | set(_compose_images(SCALE).values())
    assert images, 'no images found'
    unpinned = sorted(image for image in images if not RELEASE_TAG.match(image))
    assert not unpinned, f'images without a release tag (x.y.z): {unpinned}'


def test_compose_runs_the_ollama_the_image_bundles() -> None:
    bundled = {s.image for s in stages().values() if s.image.startswith('ollama/ollama:')}
    assert bundled == {_compose_images()['ollama']} == {_compose_images(SCALE)['ollama']}


def test_compose_keeps_the_platform_to_its_data_volume() -> None:
    platform = yaml.safe_load(COMPOSE.read_text())['services']['platform']
    assert platform['read_only'] is True
    assert [v.split(':')[1] for v in platform['volumes']] == ['/data']
    assert platform['init'] is True


def test_the_scaled_out_processes_share_what_they_must() -> None:
    """Every app process of docker-compose.scale.yml: the same database, Redis, Milvus server, storage secret and data
    volume, behind the balancer whose network is the only trusted proxy; the balancer runs deploy/haproxy.cfg."""
    services = yaml.safe_load(SCALE.read_text())['services']
    apps = [s for name, s in services.items() if name.startswith('app')]
    assert len(apps) >= 2
    for key in ('DATABASE_URL', 'REDIS_URL', 'MILVUS_URI', 'STORAGE_SECRET', 'TRUSTED_PROXIES'):
        assert len({app['environment'][key] for app in apps}) == 1, key
    assert all(app['volumes'] == ['workshop-data:/data'] and app['read_only'] for app in apps)
    assert './deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro' in services['balancer']['volumes']


def test_the_haproxy_config_is_valid() -> None:
    binary = shutil.which('haproxy') or ('/usr/sbin/haproxy' if Path('/usr/sbin/haproxy').exists() else None)
    if binary is None:
        pytest.fail("haproxy is missing: scripts/test.sh installs Debian's haproxy package")
    env = {'OWP_LB_BIND': '127.0.0.1:8080', 'OWP_APP1': 'app1.invalid:8080', 'OWP_APP2': 'app2.invalid:8080'}
    result = subprocess.run(
        [binary, '-c', '-f', str(ROOT / 'deploy' / 'haproxy.cfg')], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and 'Configuration file is valid' in result.stdout + result.stderr, result.stderr
