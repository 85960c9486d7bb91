"""Which receipt links count as a receipt: https on a host the policy allows. Never fetched."""

from collections.abc import Collection
from urllib.parse import urlsplit


def receipt_host(url: str) -> str | None:
    """The lower-case host of an https URL on the default port, or None for any other URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username is not None or port not in (None, 443):
        return None
    return (parts.hostname or "").rstrip(".") or None


def host_allowed(host: str, allowed: Collection[str]) -> bool:
    """`example.com` allows that host only; `*.example.com` allows its subdomains only."""
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def counts_as_receipt(url: str | None, allowed_hosts: Collection[str]) -> bool:
    if not url:
        return False
    host = receipt_host(url)
    return host is not None and host_allowed(host, allowed_hosts)
