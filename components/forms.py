"""Small form helpers."""

from __future__ import annotations

from nicegui import ui


def error_label() -> ui.label:
    """An inline error message, hidden until it has something to say (announced to screen readers)."""
    label = ui.label().classes('text-negative text-sm').props('role=alert')
    label.set_visibility(False)
    return label


def confirm(title: str, message: str, *, action: str = 'Delete', color: str = 'negative') -> ui.dialog:
    """A confirmation dialog; `await dialog` gives True when confirmed."""
    with ui.dialog() as dialog, ui.card().classes('gap-3'):
        ui.label(title).classes('text-lg font-semibold')
        ui.label(message)
        with ui.row().classes('w-full justify-end'):
            ui.button('Cancel', on_click=lambda: dialog.submit(False)).props('flat')
            ui.button(action, color=color, on_click=lambda: dialog.submit(True)).mark('confirm')
    return dialog
