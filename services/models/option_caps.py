"""The admin's ranges for generation options: the highest num_ctx, num_predict, top_k and temperature a model call
may ask for, on every path. Stored in the app settings (`models.AppSetting`, key `option_caps`); until an admin
changes them, the defaults from the settings hold (API_MAX_NUM_CTX, API_MAX_NUM_PREDICT, API_MAX_TOP_K,
API_MAX_TEMPERATURE). A value above a cap is refused with the range, never clamped (`services.models.options`)."""

from __future__ import annotations

import logging
import time
from typing import Any

from models import AppSetting, Role
from services.core.audit import OPTION_CAPS_CHANGE
from services.core.auth import AuthService
from services.core.errors import InvalidInput
from services.core.i18n import N_
from services.models.options import CAPPED, OptionCaps

log = logging.getLogger(__name__)

KEY = 'option_caps'


class OptionCapsService:
    def __init__(self, auth: AuthService, defaults: OptionCaps | None = None, *, cache_seconds: float = 5.0) -> None:
        self.auth = auth
        self.defaults = defaults or OptionCaps()
        self.cache_seconds = cache_seconds  # every model call reads the caps: one query per few seconds, not per call
        self._cached: tuple[float, OptionCaps] | None = None

    async def current(self) -> OptionCaps:
        """The caps in force: the admin's, else the defaults (each cap on its own, so one bad value spoils none)."""
        if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        row = await AppSetting.get_or_none(key=KEY)
        caps = self._merged(row.value if row is not None else None)
        self._cached = (time.monotonic(), caps)
        return caps

    def _merged(self, stored: Any) -> OptionCaps:
        values = self.defaults.to_dict()
        for key, value in (stored if isinstance(stored, dict) else {}).items():
            if key not in CAPPED:
                continue
            try:
                values[key] = getattr(OptionCaps.checked({**values, key: value}), key)
            except InvalidInput:
                log.warning('ignoring the stored option cap %s=%r: out of the table', key, value)
        return OptionCaps(**values)

    async def set(self, actor_id: int, values: dict[str, Any]) -> OptionCaps:
        """Change some or all of the caps (admins only); refused with the allowed range when a value is outside the
        options table. Takes effect for the next model call."""
        user = await self.auth.require(actor_id, Role.ADMIN)
        if not isinstance(values, dict):
            raise InvalidInput(N_('The ranges must be a JSON object, like {"num_ctx": 8192}.'))
        before = await self.current()
        caps = OptionCaps.checked({**before.to_dict(), **values})
        await AppSetting.update_or_create(defaults={'value': caps.to_dict()}, key=KEY)
        self._cached = (time.monotonic(), caps)
        old, new = before.to_dict(), caps.to_dict()
        changed = {key: [old[key], new[key]] for key in CAPPED if old[key] != new[key]}
        await self.auth.audit(user.id, OPTION_CAPS_CHANGE, target=KEY, changed=changed)
        return caps
