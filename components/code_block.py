"""Code shown on a page, with a named copy button."""

from __future__ import annotations

from nicegui import ui

from services.core.i18n import _


def code_block(content: str, language: str = 'json') -> ui.code:
    """`ui.code` whose copy button (NiceGUI draws it with an icon only) has an accessible name, and whose scrolling
    area can be reached and scrolled with the keyboard."""
    block = ui.code(content, language=language)
    area = getattr(block, 'markdown', None)
    if area is not None:
        area._props.update({'tabindex': 0, 'role': 'region', 'aria-label': _('Code')})
    button = getattr(block, 'copy_button', None)
    if button is not None:
        button._props['aria-label'] = _('Copy the code')
        button.tooltip(_('Copy the code'))
    return block
