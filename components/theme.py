"""Design constants in one place."""

PRIMARY = '#2563eb'
SECONDARY = '#0f766e'
ACCENT = '#9333ea'
POSITIVE = '#16a34a'
NEGATIVE = '#dc2626'
WARNING = '#d97706'

PRODUCT_NAME = 'Ollama Workshop Platform'
CONTENT_CLASSES = 'w-full max-w-screen-xl mx-auto p-4 gap-4'
CARD_CLASSES = 'w-full'

ROLE_COLORS = {'admin': 'negative', 'instructor': 'accent', 'attendee': 'primary'}


def apply() -> None:
    from nicegui import ui

    ui.colors(
        primary=PRIMARY, secondary=SECONDARY, accent=ACCENT, positive=POSITIVE, negative=NEGATIVE, warning=WARNING
    )
