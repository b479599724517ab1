"""Every package pyproject.toml declares for the app is imported by it (issue 19: three llama-index packages were
declared, installed into every image, and never imported)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ('app.py', 'config.py', 'manage.py', 'api', 'components', 'models', 'pages', 'services', 'migrations')
USED_WITHOUT_IMPORT = {'python-multipart'}  # FastAPI imports it to parse form uploads
IMPORT = re.compile(r'^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))', re.MULTILINE)


def _imported() -> set[str]:
    """Every dotted module name the app's code imports (`from a.b import c` gives a.b)."""
    names: set[str] = set()
    for source in SOURCES:
        path = ROOT / source
        for file in [path] if path.is_file() else path.rglob('*.py'):
            names |= {a or b for a, b in IMPORT.findall(file.read_text())}
    return names


def _modules(name: str) -> set[str]:
    """The modules a distribution installs, dotted; a namespace package shared by several (llama_index) is not
    counted as the distribution's own, so importing llama_index.core does not count for llama-index-llms-ollama."""
    modules = set()
    for file in distribution(name).files or []:
        parts = file.parts
        if not parts or '.dist-info' in parts[0] or parts[0] == '..' or file.suffix not in ('.py', '.pyi', '.so'):
            continue
        stem = parts[-1].split('.', 1)[0]
        dotted = '.'.join([*parts[:-1], stem] if stem != '__init__' else parts[:-1])
        if dotted:
            modules.add(dotted)
    return modules


def test_every_declared_dependency_is_imported() -> None:
    declared = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['dependencies']
    dists = {re.split(r'[\[<>=~!; ]', d, maxsplit=1)[0].lower() for d in declared} - USED_WITHOUT_IMPORT
    imported = _imported()
    unused = []
    for dist in sorted(dists):
        try:
            modules = _modules(dist)
        except PackageNotFoundError:
            continue  # not installed here (an optional platform): nothing to check
        if not modules & imported:
            unused.append(dist)
    assert not unused, f'declared in pyproject.toml but never imported: {unused}'
