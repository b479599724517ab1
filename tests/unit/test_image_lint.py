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
RELEASE_TAG = re.compile(r'^[\w./-]+:\d+\.\d+\.\d+(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$')  # image:1.2.3[-variant]


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


def test_compose_file_follows_the_compose_specification() -> None:
    result = _compose_check(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_check_would_report_a_misspelt_key(tmp_path: Path) -> None:
    bad = tmp_path / 'compose.yml'
    bad.write_text('services:\n  platform:\n    build: .\n    volumse: [data:/data]\n')
    result = _compose_check(bad)
    assert result.returncode != 0 and 'volumse' in result.stdout, result.stdout + result.stderr


def _compose_images() -> dict[str, str]:
    services = yaml.safe_load(COMPOSE.read_text())['services']
    return {name: service['image'] for name, service in services.items() if 'image' in service}


def test_every_image_is_pinned_to_a_release() -> None:
    named = stages()
    external = {stage.image for stage in named.values() if stage.image not in named}
    images = external | set(_compose_images().values())
    assert images, 'no images found'
    unpinned = sorted(image for image in images if not RELEASE_TAG.match(image))
    assert not unpinned, f'images without a release tag (x.y.z): {unpinned}'


def test_compose_runs_the_ollama_the_image_bundles() -> None:
    bundled = {s.image for s in stages().values() if s.image.startswith('ollama/ollama:')}
    assert bundled == {_compose_images()['ollama']}


def test_compose_keeps_the_platform_to_its_data_volume() -> None:
    platform = yaml.safe_load(COMPOSE.read_text())['services']['platform']
    assert platform['read_only'] is True
    assert [v.split(':')[1] for v in platform['volumes']] == ['/data']
    assert platform['init'] is True
