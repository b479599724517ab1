"""Typed errors raised by services. Each carries a message that can be shown to the user as it is."""

from __future__ import annotations

from services.core.i18n import N_


class ServiceError(Exception):
    """Base class: `str(error)` is a complete, user-facing sentence."""

    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    status_code = 422


class NotFound(ServiceError):
    """Also used when an object exists but belongs to someone else: never reveal existence."""

    status_code = 404

    def __init__(self, message: str = N_('Not found.')) -> None:
        super().__init__(message)


class NotAuthenticated(ServiceError):
    status_code = 401

    def __init__(self, message: str = N_('Please sign in.')) -> None:
        super().__init__(message)


class PermissionDenied(ServiceError):
    status_code = 403

    def __init__(self, message: str = N_('You do not have permission to do that.')) -> None:
        super().__init__(message)


class Conflict(ServiceError):
    status_code = 409


class Unavailable(ServiceError):
    """The platform cannot do this right now for a reason outside the request (a full disk, a locked database)."""

    status_code = 503


class Throttled(ServiceError):
    status_code = 429

    def __init__(self, message: str, retry_after: float = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
