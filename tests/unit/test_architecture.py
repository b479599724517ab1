"""Structural rules of the code base, checked on the source (with `ast`) and, where importing matters, in a fresh
interpreter (a subprocess: this test process has long since imported half the app).

The app tree is app.py, config.py and the packages api/, pages/, components/, services/ and models/ (the Tortoise
models); tests/ and benchmarks/ are exempt. Module names and import resolution follow the project's own cycle checker
(import_graph.py in the shared tools, ../shared/tools/ next to the checkout): `pkg/__init__.py` is `pkg`; relative
imports are made absolute; `from x import y` imports `x` and, when `x.y` is a module, `x.y`; an import counts as an edge
to the longest prefix that is one of our modules; importing one's own package (or an ancestor of it) is not an edge.
Unlike that tool, imports under `if TYPE_CHECKING:` are left out of the graph (they never run), except where a rule says
otherwise.

1. `ollama` (the PyPI client) is imported by exactly one module, `services.models.calls`: the one model-call path.
   Any import counts, also inside a function or under TYPE_CHECKING. Only that module names `OllamaGateway`.
2. No import cycles among our modules, and every module imports on its own in a fresh interpreter (app.py is never
   imported there, and nothing imports it).
3. Every package under services/ has an `__init__.py` with a docstring that imports nothing, so importing one area
   never drags in the others.
4. Package direction: an area package imports only the ones to its left,
       core <- models <- tools <- prompts <- chat <- knowledge <- workshops <- admin
   `services.wiring` (the composition root) may import anything and nothing in services/ imports it; services never
   render (no `nicegui.ui`) and never import app, api, pages or components; pages, components and routes never touch
   the store (no `models`, no `tortoise`): they call services.
5. docs/architecture.md names only things that exist. The convention for references in that document:
   - a backticked token starting with `services.`, `api.`, `pages.`, `components.` or `models.` is a reference;
   - it is a module (`services.models.calls`), or a module followed by a chain of names
     (`services.models.calls.ModelCalls.chat_stream`): the longest prefix that is a module file is the module; the
     first name must be defined at the top level of that module (def, class, assignment or import), each next name
     in the class before it (a method, a class attribute, a dataclass field or a `self.` attribute);
   - `module:name.name` is accepted too and pins where the module ends (`services.knowledge.chunking:split_files`);
   - no call parentheses, no wildcards: a token with those prefixes that does not have this form fails;
   - a backticked path to a file or folder of the app tree (`services/wiring.py`, `pages/`) must exist.
   Fenced code blocks are not checked.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ('api', 'pages', 'components', 'services', 'models')
APP_FILES = ('app.py', 'config.py')
THE_CALL_PATH = 'services.models.calls'
AREAS = ('core', 'models', 'tools', 'prompts', 'chat', 'knowledge', 'workshops', 'admin')  # each imports only its left
WIRING = 'services.wiring'
NOT_FOR_SERVICES = ('app', 'api', 'pages', 'components')
DOC = ROOT / 'docs' / 'architecture.md'


# ----- the module tree and its imports -------------------------------------------------------------------------------
def _app_modules() -> dict[str, Path]:
    """Module name -> file, for the app tree (named as the project's import_graph tool names them)."""
    found: dict[str, Path] = {}
    for name in APP_FILES:
        if (ROOT / name).is_file():
            found[name.removesuffix('.py')] = ROOT / name
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob('*.py')):
            rel = path.relative_to(ROOT)
            if any(part == '__pycache__' or part.startswith('.') for part in rel.parts[:-1]):
                continue
            parts = list(rel.with_suffix('').parts)
            if parts[-1] == '__init__':
                parts = parts[:-1]
            found['.'.join(parts)] = path
    return found


MODULES = _app_modules()


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding='utf-8'), filename=str(path))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@dataclass(frozen=True, slots=True)
class Imported:
    name: str  # absolute: `x` for `import x` and `from x import ...`, `x.y` for `from x import y`
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == 'TYPE_CHECKING') or (
        isinstance(test, ast.Attribute) and test.attr == 'TYPE_CHECKING'
    )


class _ImportCollector(ast.NodeVisitor):
    """Every import statement of a module (top level, in functions and classes), marked when under TYPE_CHECKING."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.type_only = 0
        self.found: list[Imported] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.type_only += 1
            for statement in node.body:
                self.visit(statement)
            self.type_only -= 1
            for statement in node.orelse:
                self.visit(statement)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append(Imported(alias.name, node.lineno, self.type_only > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split('.') if self.package else []
            if node.level > 1:
                base = base[: len(base) - (node.level - 1)]
            module = '.'.join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ''
        type_only = self.type_only > 0
        self.found.append(Imported(module, node.lineno, type_only))
        for alias in node.names:
            if alias.name != '*':
                self.found.append(Imported(f'{module}.{alias.name}', node.lineno, type_only))


def _imports(name: str) -> list[Imported]:
    path = MODULES[name]
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    collector = _ImportCollector(package)
    collector.visit(_parse(path))
    return collector.found


def _own_module(imported: str) -> str | None:
    """The longest prefix of an imported name that is one of our modules (None: a third-party or stdlib name)."""
    candidate = imported
    while candidate and candidate not in MODULES:
        candidate = candidate.rpartition('.')[0]
    return candidate or None


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    line: int

    def where(self) -> str:
        return f'{_rel(MODULES[self.source])}:{self.line}'


def _edges(name: str, *, most_specific: bool = False) -> list[Edge]:
    """Edges to our own modules that run (imports under TYPE_CHECKING left out), one per target and line.
    `most_specific`: for messages, `from pkg import mod` gives only the edge to `pkg.mod`, not also the one to `pkg`."""
    found: dict[tuple[str, int], Edge] = {}
    for imported in _imports(name):
        if imported.type_only:
            continue
        target = _own_module(imported.name)
        if target is None or target == name or name.startswith(target + '.'):
            continue
        found.setdefault((target, imported.line), Edge(name, target, imported.line))
    edges = list(found.values())
    if most_specific:
        edges = [e for e in edges if not any(o.line == e.line and o.target.startswith(e.target + '.') for o in edges)]
    return edges


def _graph() -> dict[str, dict[str, Edge]]:
    """module -> {imported module: the first import that makes that edge}"""
    graph: dict[str, dict[str, Edge]] = {}
    for name in MODULES:
        targets: dict[str, Edge] = {}
        for edge in _edges(name):
            targets.setdefault(edge.target, edge)
        graph[name] = targets
    return graph


def _strongly_connected(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit); components of two or more modules only."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, {})))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _a_cycle(graph: dict[str, dict[str, Edge]], component: list[str]) -> list[Edge]:
    """One concrete cycle through the first module of a strongly connected component (shortest, by BFS)."""
    members = set(component)
    start = component[0]
    came_from: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target, edge in sorted(graph[node].items()):
                if target not in members or target in came_from:
                    continue
                came_from[target] = edge
                if target == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came_from[path[0].source])
                    return path
                following.append(target)
        frontier = following
    raise AssertionError(f'no cycle through {start} in {component}')  # cannot happen in a component


# ----- subprocesses --------------------------------------------------------------------------------------------------
def _fresh_python(tmp_path: Path, script: str, *args: str) -> dict:
    """Run a script in a fresh interpreter that can import the app tree but starts nothing; its JSON result."""
    result_file = tmp_path / 'result.json'
    env = {k: v for k, v in os.environ.items() if k not in ('DATABASE_URL', 'MILVUS_URI', 'PYTHONSTARTUP')}
    env.update(
        PYTHONPATH=str(ROOT),
        DATA_DIR=str(tmp_path / 'data'),
        NICEGUI_STORAGE_PATH=str(tmp_path / 'storage'),
        STORAGE_SECRET='architecture-test-secret',
        OLLAMA_HOST='http://127.0.0.1:9',
    )
    done = subprocess.run(
        [sys.executable, '-c', script, str(result_file), *args],
        cwd=tmp_path,  # no .env of the checkout is read
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and result_file.exists(), (
        f'the fresh interpreter failed (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}'
    )
    return json.loads(result_file.read_text())


IMPORT_EACH = """
import importlib, json, sys, traceback
out, names = sys.argv[1], json.loads(sys.argv[2])
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=-4)
json.dump({'failed': failed, 'app_imported': 'app' in sys.modules}, open(out, 'w'))
"""

IMPORT_PACKAGES = """
import importlib, json, sys
out, names = sys.argv[1], json.loads(sys.argv[2])
dragged = {}
for name in names:
    before = {m for m in sys.modules if m == 'services' or m.startswith('services.')}
    importlib.import_module(name)
    after = {m for m in sys.modules if m == 'services' or m.startswith('services.')}
    extra = sorted(after - before - {name, 'services'})
    if extra:
        dragged[name] = extra
json.dump({'dragged': dragged}, open(out, 'w'))
"""


# ----- 1. the one model-call path ------------------------------------------------------------------------------------
def _ollama_imports(name: str) -> list[str]:
    """Where a module imports the ollama client: any import statement, and importlib.import_module('ollama')."""
    path = MODULES[name]
    lines = [f'{_rel(path)}:{i.line}' for i in _imports(name) if i.name == 'ollama' or i.name.startswith('ollama.')]
    for node in ast.walk(_parse(path)):
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value.split('.')[0] == 'ollama'
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == 'import_module')
                or (isinstance(node.func, ast.Name) and node.func.id in ('import_module', '__import__'))
            )
        ):
            lines.append(f'{_rel(path)}:{node.lineno}')
    return sorted(set(lines))


def test_only_the_model_call_path_imports_ollama() -> None:
    importers = {name: where for name in MODULES if (where := _ollama_imports(name))}
    assert THE_CALL_PATH in importers, f'{THE_CALL_PATH} no longer imports ollama: is the model-call path elsewhere?'
    others = {name: where for name, where in importers.items() if name != THE_CALL_PATH}
    assert not others, (
        f'only {THE_CALL_PATH} may import the ollama client; every model call goes through ModelCalls. Also imported '
        'by:\n' + '\n'.join(f'  {name}: {", ".join(where)}' for name, where in sorted(others.items()))
    )


def _names_gateway(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(_parse(path)):
        if (
            (isinstance(node, ast.Name) and node.id == 'OllamaGateway')
            or (isinstance(node, ast.Attribute) and node.attr == 'OllamaGateway')
            or (isinstance(node, ast.ClassDef) and node.name == 'OllamaGateway')
            or (isinstance(node, ast.alias) and 'OllamaGateway' in (node.name, node.asname))
        ):
            lines.append(getattr(node, 'lineno', 0))
    return sorted(set(lines))


def test_only_the_model_call_path_names_the_gateway() -> None:
    others = {
        name: lines for name, path in MODULES.items() if name != THE_CALL_PATH and (lines := _names_gateway(path))
    }
    assert not others, 'OllamaGateway is private to services/models/calls.py; use ModelCalls. Named in:\n' + '\n'.join(
        f'  {_rel(MODULES[name])}: lines {", ".join(map(str, lines))}' for name, lines in sorted(others.items())
    )


# ----- 2. no import cycles; every module imports on its own ----------------------------------------------------------
def test_no_import_cycles() -> None:
    graph = _graph()
    components = _strongly_connected(graph)
    described = []
    for component in components:
        cycle = _a_cycle(graph, component)
        hops = '\n'.join(f'    {e.source} -> {e.target}  ({e.where()})' for e in cycle)
        described.append(f'  {len(component)} modules: {", ".join(component)}\n  for example:\n{hops}')
    assert not components, 'import cycles among our modules (imports under TYPE_CHECKING not counted):\n' + '\n'.join(
        described
    )


def _import_groups() -> dict[str, list[str]]:
    """The modules to import, grouped by area (each group in an interpreter of its own); app.py is left out."""
    groups: dict[str, list[str]] = {}
    for name in sorted(MODULES):
        top = name.split('.')[0]
        if top not in APP_PACKAGES:
            continue  # app (starts everything) and config (imported by whoever needs it)
        parts = name.split('.')
        group = '.'.join(parts[:2]) if top == 'services' and len(parts) > 2 else top
        groups.setdefault(group, []).append(name)
    return groups


@pytest.mark.parametrize('group', sorted(_import_groups()))
def test_every_module_imports_in_a_fresh_interpreter(group: str, tmp_path: Path) -> None:
    names = _import_groups()[group]
    result = _fresh_python(tmp_path, IMPORT_EACH, json.dumps(names))
    failed: dict[str, str] = result['failed']
    by_error: dict[str, list[str]] = {}  # one broken module usually breaks many: each distinct error once
    for name, trace in sorted(failed.items()):
        by_error.setdefault(trace.strip().splitlines()[-1], []).append(name)
    assert not failed, f'{len(failed)} of {len(names)} modules failed to import:\n' + '\n'.join(
        f'--- {error}\n    in: {", ".join(hit)}\n{failed[hit[0]]}' for error, hit in by_error.items()
    )
    assert not result['app_imported'], f'importing {group} imported app.py (the entry point starts the app)'


# ----- 3. service packages import nothing ----------------------------------------------------------------------------
def _service_packages() -> list[Path]:
    root = ROOT / 'services'
    below = sorted(p for p in root.rglob('*') if p.is_dir() and p.name != '__pycache__' and any(p.glob('*.py')))
    return [root, *below]


def _dotted(folder: Path) -> str:
    return '.'.join(folder.relative_to(ROOT).parts)


@pytest.mark.parametrize('folder', _service_packages(), ids=_dotted)
def test_service_package_has_a_docstring_and_imports_nothing(folder: Path) -> None:
    init = folder / '__init__.py'
    assert init.is_file(), f'{_rel(folder)}/ has no __init__.py'
    tree = _parse(init)
    docstring = (ast.get_docstring(tree) or '').strip()
    assert docstring, f'{_rel(init)} needs a docstring: what lives in this package'
    imports = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.module != '__future__')
    ]
    assert not imports, f'{_rel(init)} imports something (lines {imports}): importing one area must not load others'


def test_importing_a_service_package_loads_no_other_module(tmp_path: Path) -> None:
    names = [_dotted(folder) for folder in _service_packages()]
    dragged = _fresh_python(tmp_path, IMPORT_PACKAGES, json.dumps(names))['dragged']
    assert not dragged, 'importing a package under services/ loaded other service modules:\n' + '\n'.join(
        f'  {name}: {", ".join(extra)}' for name, extra in sorted(dragged.items())
    )


# ----- 4. package direction ------------------------------------------------------------------------------------------
def _service_modules() -> list[str]:
    return sorted(name for name in MODULES if name.startswith('services.'))


def _area(name: str) -> str | None:
    parts = name.split('.')
    return parts[1] if len(parts) > 1 and parts[0] == 'services' and parts[1] in AREAS else None


def test_every_service_module_lives_in_an_area_package() -> None:
    stray = [name for name in _service_modules() if _area(name) is None and name != WIRING]
    assert not stray, f'modules in services/ outside the area packages {AREAS} (and wiring): {stray}'


def test_area_packages_import_only_to_their_left() -> None:
    """core <- models <- tools <- prompts <- chat <- knowledge <- workshops <- admin: imports only to the left."""
    violations = []
    for name in _service_modules():
        source = _area(name)
        if source is None:
            continue
        for edge in _edges(name, most_specific=True):
            target = _area(edge.target)
            if target is not None and AREAS.index(target) > AREAS.index(source):
                violations.append(f'  {edge.where()}: {name} imports {edge.target} ({source} may not import {target})')
    assert not violations, f'imports against the package direction {" <- ".join(AREAS)}:\n' + '\n'.join(
        sorted(violations)
    )


def test_nothing_in_services_imports_the_composition_root() -> None:
    violations = [
        f'  {edge.where()}: {name} imports {WIRING}'
        for name in _service_modules()
        if name != WIRING
        for edge in _edges(name, most_specific=True)
        if edge.target == WIRING
    ]
    assert not violations, 'services.wiring builds the services; they must not import it:\n' + '\n'.join(violations)


def test_services_never_render() -> None:
    violations = []
    for name in _service_modules():
        for imported in _imports(name):
            if imported.type_only:
                continue
            if imported.name == 'nicegui.ui' or imported.name.startswith('nicegui.ui.'):
                violations.append(f'  {_rel(MODULES[name])}:{imported.line}: {name} imports nicegui.ui')
    assert not violations, 'services never render (pages and components do); no nicegui.ui in services/:\n' + (
        '\n'.join(violations)
    )


def test_services_do_not_import_the_app_pages_api_or_components() -> None:
    violations = [
        f'  {edge.where()}: {name} imports {edge.target}'
        for name in _service_modules()
        for edge in _edges(name, most_specific=True)
        if edge.target.split('.')[0] in NOT_FOR_SERVICES
    ]
    assert not violations, 'routes and pages call services, never the other way round:\n' + '\n'.join(violations)


def test_pages_components_and_routes_do_not_touch_the_store() -> None:
    violations = []
    for name in sorted(MODULES):
        if name.split('.')[0] not in ('api', 'pages', 'components'):
            continue
        by_line: dict[int, set[str]] = {}
        for imported in _imports(name):
            target = _own_module(imported.name) or ''
            if not imported.type_only and (
                target.split('.')[0] == 'models' or imported.name.split('.')[0] == 'tortoise'
            ):
                by_line.setdefault(imported.line, set()).add(imported.name)
        for line, names in sorted(by_line.items()):
            shown = sorted(n for n in names if not any(o.startswith(n + '.') for o in names))  # `models.User`, not both
            violations.append(f'  {_rel(MODULES[name])}:{line}: {name} imports {", ".join(shown)}')
    assert not violations, 'pages, components and routes call services; only services use the store:\n' + '\n'.join(
        violations
    )


# ----- 5. docs/architecture.md names only what exists ----------------------------------------------------------------
REFERENCE_PREFIX = re.compile(r'^(services|api|pages|components|models)\.')
IDENT = r'[A-Za-z_][A-Za-z0-9_]*'
REFERENCE = re.compile(rf'^{IDENT}(\.{IDENT})*(:{IDENT}(\.{IDENT})*)?$')
PATH = re.compile(r'^(app\.py|config\.py|(services|api|pages|components|models|docs|tests)/[\w./-]*)$')


def _doc_tokens() -> list[str]:
    text = re.sub(r'^```.*?^```', '', DOC.read_text(encoding='utf-8'), flags=re.DOTALL | re.MULTILINE)
    return re.findall(r'(?<!`)`([^`\n]+)`(?!`)', text)


def _module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split('.'))
    for candidate in (base.with_suffix('.py'), base / '__init__.py'):
        if candidate.is_file():
            return candidate
    return None


def _top_level(statements: list[ast.stmt]) -> Iterator[tuple[str, ast.AST]]:
    """Names a module (or class) body defines, looking into if/try/with blocks but not into functions."""
    for node in statements:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name, node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name):
                        yield leaf.id, node
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
            yield node.target.id, node
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield (alias.asname or alias.name.split('.')[0]), node
        elif isinstance(node, ast.If | ast.With | ast.AsyncWith):
            yield from _top_level(node.body)
            yield from _top_level(getattr(node, 'orelse', []))
        elif isinstance(node, ast.Try | ast.TryStar):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _top_level(block)


def _class_names(cls: ast.ClassDef) -> dict[str, ast.AST]:
    """Names a class defines: its body (methods, class attributes, dataclass fields) and `self.x = ...` in methods."""
    names = dict(_top_level(cls.body))
    for method in cls.body:
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(method):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign):
                targets = [node.target]
            else:
                continue
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == 'self'
                ):
                    names.setdefault(target.attr, node)
    return names


def _resolve_in_module(module: str, chain: list[str], depth: int = 0) -> str | None:
    """None when `chain` is defined in `module`, else what is missing."""
    path = _module_file(module)
    if path is None:
        return f'no module {module}'
    if not chain:
        return None
    names = dict(_top_level(_parse(path).body))
    node = names.get(chain[0])
    if node is None:
        if _module_file(f'{module}.{chain[0]}') is not None:  # a submodule, spelled module:submodule
            return _resolve_in_module(f'{module}.{chain[0]}', chain[1:], depth)
        return f'{module} defines no {chain[0]}'
    if isinstance(node, ast.ImportFrom) and len(chain) > 1 and depth < 5:  # a re-export: follow it
        source = next(a.name for a in node.names if (a.asname or a.name) == chain[0])
        origin = node.module or ''
        if node.level:
            package = module if path.name == '__init__.py' else module.rpartition('.')[0]
            base = package.split('.')[: len(package.split('.')) - (node.level - 1)]
            origin = '.'.join(base + ([node.module] if node.module else []))
        return _resolve_in_module(origin, [source, *chain[1:]], depth + 1)
    for position, name in enumerate(chain[1:], start=1):
        if not isinstance(node, ast.ClassDef):
            return f'{module}.{".".join(chain[:position])} is not a class, so it has no {name}'
        node = _class_names(node).get(name)
        if node is None:
            return f'{module}.{".".join(chain[:position])} defines no {name}'
    return None


def _resolve(token: str) -> str | None:
    """None when the reference resolves, else why not."""
    if not REFERENCE.match(token):
        return 'not of the form module[.Name.name] or module:name (no parentheses, no wildcards)'
    if ':' in token:
        module, _, rest = token.partition(':')
        return _resolve_in_module(module, rest.split('.'))
    parts = token.split('.')
    for cut in range(len(parts), 0, -1):
        if _module_file('.'.join(parts[:cut])) is not None:
            return _resolve_in_module('.'.join(parts[:cut]), parts[cut:])
    return 'no such module'


def test_architecture_doc_names_only_what_exists() -> None:
    assert DOC.is_file(), 'docs/architecture.md is missing'
    tokens = _doc_tokens()
    references = sorted({t for t in tokens if REFERENCE_PREFIX.match(t)})
    paths = sorted({t for t in tokens if PATH.match(t)})
    assert len(references) >= 20, f'the document should name the modules and functions it describes: {references}'
    broken = [f'  `{t}`: {why}' for t in references if (why := _resolve(t))]
    broken += [f'  `{t}`: no such file or folder' for t in paths if not (ROOT / t).exists()]
    assert not broken, 'docs/architecture.md names what does not exist:\n' + '\n'.join(broken)
