"""Which remote APIs the worker may call for a user: the one egress rule.

The studio calls OpenAI-compatible servers for captions and caption rewrites.
Their addresses are an admin's choice: ``STUDIO_API_ENDPOINTS`` (``name=url,...``,
plus the built-in ``openai``). A user picks one by name (the ``api_endpoint``
option) and may bring their own key. A typed URL (``api_base_url``) is an
admin's privilege: for anyone else it is refused (403), unless it is the URL of
a configured endpoint, which is then that endpoint (old clients keep working).

:func:`api_endpoint` is checked when a job is submitted and again when it runs
(with the job owner's current rights), so a settings change or a retried job
never reaches an address the owner may not use.
"""

from __future__ import annotations

from dataclasses import dataclass

from jobs.access import User
from jobs.settings import get_settings
from pipelines.errors import BadInput, Refused


@dataclass(frozen=True)
class Endpoint:
    name: str  # a configured endpoint's name; "" for an admin's typed URL
    url: str  # the base URL the worker calls

    @property
    def typed_url(self) -> str:
        """The URL to store with the options: only an admin's typed one (a name is enough)."""
        return "" if self.name else self.url


def _same(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def api_endpoint(name: str | None, url: str | None, user: User) -> Endpoint | None:
    """The endpoint a user's options name (None when they name none).

    BadInput (422) for an unknown name or a URL that is not http(s); Refused
    (403) for a typed URL from a non-admin that is no configured endpoint's."""
    name, url = (name or "").strip(), (url or "").strip()
    endpoints = get_settings().endpoints
    names = ", ".join(sorted(endpoints))
    if name:
        if name not in endpoints:
            raise BadInput(
                f"api_endpoint {name[:100]!r} is not configured; choose one of {names} "
                "(an admin adds more with STUDIO_API_ENDPOINTS)."
            )
        if url and not _same(url, endpoints[name]):
            raise BadInput(
                f"api_endpoint {name!r} and api_base_url name different servers; give only "
                "api_endpoint."
            )
        return Endpoint(name, endpoints[name])
    if not url:
        return None
    for known, address in endpoints.items():
        if _same(url, address):
            return Endpoint(known, address)
    if not user.is_admin:
        raise Refused(
            "A typed API base URL is for admins only: pick a configured endpoint with "
            f"api_endpoint (one of {names}) and give your key; an admin adds endpoints with "
            "STUDIO_API_ENDPOINTS."
        )
    if not url.lower().startswith(("http://", "https://")):
        raise BadInput(f"api_base_url {url[:100]!r} must start with http:// or https://.")
    return Endpoint("", url)
