"""Every package pyproject.toml declares for the app is imported by it (issue 19: declared-but-unused packages were
installed into every image)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ('app.py', 'config.py', 'manage.py', 'api', 'components', 'models', 'pages', 'services', 'migrations')
USED_WITHOUT_IMPORT = {'python-multipart'}  # FastAPI imports it to parse form uploads


def _imported_top_level() -> set[str]:
    names: set[str] = set()
    pattern = re.compile(r'^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)', re.MULTILINE)
    for source in SOURCES:
        path = ROOT / source
        for file in [path] if path.is_file() else path.rglob('*.py'):
            names |= set(pattern.findall(file.read_text()))
    return names


def test_every_declared_dependency_is_imported() -> None:
    declared = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['dependencies']
    dists = {re.split(r'[\[<>=~!; ]', d, maxsplit=1)[0].lower() for d in declared}
    by_dist: dict[str, set[str]] = {}
    for module, owners in packages_distributions().items():
        for owner in owners:
            by_dist.setdefault(owner.lower().replace('_', '-'), set()).add(module)
    imported = _imported_top_level()
    unused = sorted(d for d in dists - USED_WITHOUT_IMPORT if not by_dist.get(d.replace('_', '-'), set()) & imported)
    assert not unused, f'declared in pyproject.toml but never imported: {unused}'
