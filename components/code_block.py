"""Code shown on a page, with a named copy button."""

from __future__ import annotations

from nicegui import ui

from services.core.i18n import _


def code_block(content: str, language: str = 'json') -> ui.code:
    """`ui.code` whose copy button (NiceGUI draws it with an icon only) has an accessible name."""
    block = ui.code(content, language=language)
    button = getattr(block, 'copy_button', None)
    if button is not None:
        button._props['aria-label'] = _('Copy the code')
        button.tooltip(_('Copy the code'))
    return block
