"""Who may read and change what: the one owner check of the studio.

Every record a user makes (a job, a dataset, a recording, a task, a scenario,
a dance project …) carries an ``owner``. Every read and every write of such a
record goes through :func:`check_owner`; lists go through :func:`owner_filter`.
Admins see and change everything. Another user's object is answered exactly
like a missing one (:class:`pipelines.errors.NotFound`, HTTP 404), so ids and names
of other users' work do not leak.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.settings import get_settings
from pipelines.errors import NotFound

ANONYMOUS = "anonymous"
VISITOR_PREFIX = "visitor-"  # a public-demo visitor: "visitor-<id of their browser's cookie>"


@dataclass(frozen=True)
class User:
    """The caller: a login name and whether they are an admin."""

    name: str
    is_admin: bool = False


SYSTEM = User("system", True)  # the worker and command-line tools acting for the studio itself


def user_named(name: str | None) -> User:
    """The user of a login name, as the settings make them: in an open studio
    (no STUDIO_AUTH, no STUDIO_API_TOKENS) everyone is an admin, except in the
    public demo (STUDIO_DEMO), where each visitor (``visitor-<id>``, one per
    browser) is a plain user and nobody is an admin; with logins the users of
    STUDIO_ADMINS are admins."""
    settings = get_settings()
    name = name or ANONYMOUS
    if settings.demo_mode:
        return User(name, False)
    return User(name, settings.open_studio or name in settings.admin_users)


def is_visitor(owner: str | None) -> bool:
    """Is ``owner`` a public-demo visitor (whose work the retention sweep deletes)?"""
    return bool(owner) and str(owner).startswith(VISITOR_PREFIX)


def may_access(owner: str | None, user: User) -> bool:
    return user.is_admin or (owner is not None and owner == user.name)


def check_owner(owner: str | None, user: User, what: str) -> None:
    """Raise NotFound naming ``what`` (e.g. "job 3f2a…") unless ``user`` may use it."""
    if not may_access(owner, user):
        raise NotFound(f"No {what}. It does not exist or is not yours.")


def owner_filter(user: User, requested: str | None = None) -> str | None:
    """The owner a list should show: the caller's own work; an admin sees all,
    or one user's with ``requested``."""
    if user.is_admin:
        return requested or None
    return user.name
