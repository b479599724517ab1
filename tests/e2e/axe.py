"""axe-core (Deque's accessibility engine, from the npm registry: tests/e2e/axe/package.json, installed by
scripts/test.sh) run inside a page of the app in real Chromium, as a browser extension would."""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

AXE_DIR = Path(__file__).resolve().parent / 'axe'
AXE_JS = AXE_DIR / 'node_modules' / 'axe-core' / 'axe.min.js'
BLOCKING = ('serious', 'critical')

RUN = """async (blocking) => {
    const result = await axe.run(document, {resultTypes: ['violations']});
    return result.violations.filter(v => blocking.includes(v.impact)).map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 6).map(n => n.target.join(' ') + '  ' + (n.html || '').slice(0, 160)),
        count: v.nodes.length,
    }));
}"""


def axe_script() -> Path:
    """The axe-core bundle, installed with npm when it is missing (the test script installs it up front)."""
    if not AXE_JS.exists():
        subprocess.run(['npm', 'ci', '--no-audit', '--no-fund', '--silent'], cwd=AXE_DIR, check=True, timeout=300)
    return AXE_JS


def settle(page: Page) -> None:
    """Wait until NiceGUI's websocket is connected and the one-shot loads after it have drawn the page."""
    page.wait_for_load_state('load')
    page.wait_for_function('() => window.socket && window.socket.connected', timeout=15_000)
    page.wait_for_timeout(700)
    try:  # a page still loading its list shows a spinner; one that never goes away is judged as it is
        page.wait_for_function('() => !document.querySelector(".q-spinner, .q-linear-progress--indeterminate")',
                               timeout=8_000)  # fmt: skip
    except PlaywrightTimeout:
        pass


def violations(page: Page) -> list[dict]:
    """The serious and critical violations axe-core finds in the page as it is now."""
    if not page.evaluate('() => typeof window.axe !== "undefined"'):
        page.add_script_tag(path=str(axe_script()))
    return page.evaluate(RUN, list(BLOCKING))


def report(found: dict[str, list[dict]]) -> str:
    lines = []
    for where, items in found.items():
        for item in items:
            lines.append(f'{where}: [{item["impact"]}] {item["id"]} ({item["count"]}x): {item["help"]}')
            lines += [f'      {node}' for node in item['nodes']]
    return '\n'.join(lines)
