"""What went wrong, in the user's terms, with the HTTP status it means.

One small family, in the bottom layer so that every layer can raise these (or a subclass), the web app maps
them once (``studio.errors``) to a JSON ``{"detail": message}`` with the
class's status, and the UI shows the same message. The message says what is
wrong and what to do about it.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base of the family; ``status`` is the HTTP status code it maps to."""

    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(StudioError, ValueError):
    """The request is wrong: a bad value, file, path or option (422)."""

    status = 422


class WrongFormat(BadInput):
    """A file of a kind the tool does not take, e.g. a recording in a format frame review
    does not read (400, as seed 001's error table answers it)."""

    status = 400


class NotFound(StudioError, LookupError):
    """No such thing, or not one the caller may see (404)."""

    status = 404


class Conflict(StudioError):
    """The thing exists already, or its state does not allow this now (409)."""

    status = 409


class Refused(StudioError, PermissionError):
    """The caller may not do this at all (403), e.g. scenario scripts for a non-admin."""

    status = 403


class TooLarge(BadInput):
    """The request or a file in it is over a size limit (413)."""

    status = 413


class TooManyJobs(StudioError):
    """The caller has as many jobs queued or running as they may (429)."""

    status = 429
