"""One toast for a whole room of pages: a socket.io room per workshop and language, one message encoded once.

An announcement used to be a `ui.notify` on each attendee page: one call, one queued message and one outbox wake-up
per page, so the last of 200 pages got its toast ~3× later than a bare NiceGUI page gets one. Pages that show a
workshop's announcements now join its room (their sockets do, on every connect: a reconnect has a new socket), and
an announcement is one socket.io emit to the room, which python-socketio encodes once and writes to each socket. The
page's script shows it as the same Quasar notification `ui.notify` makes; a small head script hooks the handler
onto NiceGUI's socket as NiceGUI creates it, so it is there before the socket joins any room.

The toast is outside NiceGUI's per-page message sequence: a page that is reconnecting when it is sent misses the
toast (not the announcement: the page's list of announcements is an element, and arrives through NiceGUI as before).
Rooms are per process; with several app processes each one sends to its own pages (the live bus brings the event).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict

from nicegui import Client, background_tasks, core, ui

EVENT = 'owp_toast'
_languages: dict[str, set[str]] = defaultdict(set)  # room key -> languages of the pages that joined it
_sent: OrderedDict[tuple[str, object], None] = OrderedDict()  # (room key, event id) toasted lately
# NiceGUI sets window.socket once, when its app mounts: the setter adds our handler to that socket before it connects
_HOOK = f"""<script>
(() => {{
  let socket;
  Object.defineProperty(window, 'socket', {{
    configurable: true,
    get: () => socket,
    set: (value) => {{
      socket = value;
      if (value && value.on) value.on('{EVENT}', (options) => Quasar.Notify.create(options));
    }},
  }});
}})();
</script>"""


def room(key: str, language: str) -> str:
    return f'owp:{key}:{language}'


def join(client: Client, key: str, language: str) -> None:
    """Put this page in the room `key` for toasts in `language` (call while building the page)."""
    ui.add_head_html(_HOOK)
    name = room(key, language)
    _languages[key].add(language)

    async def enter() -> None:
        for sid, _engine_sid in list(core.sio.manager.get_participants('/', client.id)):
            await core.sio.enter_room(sid, name)

    client.on_connect(enter)


def first(key: str, event_id: object) -> bool:
    """Whether this is the first time `event_id` is seen for the room `key` (each page of the room hears the event;
    the first one sends the toast for all)."""
    if (key, event_id) in _sent:
        return False
    _sent[(key, event_id)] = None
    while len(_sent) > 1000:
        _sent.popitem(last=False)
    return True


def languages(key: str) -> set[str]:
    """The languages of the pages that joined the room `key` (in this process)."""
    return set(_languages.get(key, ()))


def send(key: str, texts: dict[str, str], **options: object) -> None:
    """Toast `texts[language]` on every page in the room `key` that joined in that language: one emit per language.
    `options` are Quasar Notify options (`type`, `position`, ...), as `ui.notify` takes them."""
    for language, text in texts.items():
        payload = {**options, 'message': text}
        background_tasks.create(core.sio.emit(EVENT, payload, room=room(key, language)), name='room-toast')
