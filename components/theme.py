"""Design constants in one place, and the page-wide styles every page shares (focus outlines, the skip link,
colours that keep their contrast in dark mode)."""

# Quasar's brand colours. Each one carries white text (buttons, chips, badges) at 4.5:1 or more (WCAG 2.1 AA).
PRIMARY = '#2563eb'
SECONDARY = '#0f766e'
ACCENT = '#9333ea'
POSITIVE = '#15803d'
NEGATIVE = '#dc2626'
WARNING = '#b45309'

PRODUCT_NAME = 'Ollama Workshop Platform'
CONTENT_CLASSES = 'w-full max-w-screen-xl mx-auto p-4 gap-4'
CARD_CLASSES = 'w-full'
CONTENT_ID = 'main-content'  # the skip link's target

ROLE_COLORS = {'admin': 'negative', 'instructor': 'accent', 'attendee': 'primary'}

# Focus stays visible for keyboard users (Quasar removes the outline of buttons and fields); text in the brand
# colours gets a lighter shade on dark backgrounds; links are dark enough on white (NiceGUI's own blue is 3.7:1).
# Layers: see NiceGUI's index.html (link colours stay below Tailwind's utilities, so `text-white` still wins).
CSS = """
@layer theme {  /* !important in the first layer: it wins over Quasar's `.no-outline{outline:0!important}` */
    :focus-visible, .q-btn:focus-visible, .q-chip:focus-visible, .q-item:focus-visible, .q-tab:focus-visible,
    .q-checkbox:focus-visible, .q-toggle:focus-visible, .q-radio:focus-visible, a:focus-visible {
        outline: 3px solid #1d4ed8 !important; outline-offset: 2px !important;
    }
    .q-field--focused .q-field__control { outline: 2px solid #1d4ed8 !important; outline-offset: 2px !important; }
    .body--dark :focus-visible, .body--dark .q-btn:focus-visible, .body--dark .q-chip:focus-visible,
    .body--dark .q-item:focus-visible, .body--dark .q-tab:focus-visible, .body--dark .q-checkbox:focus-visible,
    .body--dark .q-toggle:focus-visible, .body--dark .q-radio:focus-visible, .body--dark a:focus-visible,
    .body--dark .q-field--focused .q-field__control { outline-color: #93c5fd !important; }
    .q-header :focus-visible, .q-header .q-btn:focus-visible, .q-header a:focus-visible {
        outline-color: #ffffff !important;
    }
    .q-field__native:focus-visible, .q-field__input:focus-visible { outline: none !important; }  /* the field has it */
    /* an uploader's file input is the control itself (see pages/knowledge.py): its button shows the focus */
    .q-uploader__header .q-btn:has(.q-uploader__input:focus-visible) {
        outline: 3px solid #1d4ed8 !important; outline-offset: 2px !important;
    }
    .body--dark .q-uploader__header .q-btn:has(.q-uploader__input:focus-visible) { outline-color: #93c5fd !important; }
    #main-content:focus { outline: none !important; }
}
@layer overrides {
    .skip-link {
        position: absolute; left: 8px; top: -200px; z-index: 10000; padding: 8px 16px; border-radius: 4px;
        background: #ffffff; color: #1e3a8a; font-weight: 600; text-decoration: underline;
    }
    .skip-link:focus { top: 8px; }
    .body--dark .text-primary { --q-primary: #93c5fd; }
    .body--dark .text-positive { --q-positive: #4ade80; }
    .body--dark .text-negative { --q-negative: #f87171; }
    .body--dark .text-warning { --q-warning: #fbbf24; }
    .body--dark .text-secondary { --q-secondary: #5eead4; }
    .body--dark .text-accent { --q-accent: #d8b4fe; }
}
@layer nicegui {
    .nicegui-link, .nicegui-markdown a { color: #1d4ed8; }
    .body--dark .nicegui-link, .body--dark .nicegui-markdown a { color: #93c5fd; }
}
"""


def apply() -> None:
    from nicegui import ui

    ui.colors(
        primary=PRIMARY, secondary=SECONDARY, accent=ACCENT, positive=POSITIVE, negative=NEGATIVE, warning=WARNING
    )
    ui.add_css(CSS)
