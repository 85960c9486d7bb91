"""Reads the policy file (TOML) into the domain's Policy, re-reading it when it changes.

An invalid file is never half-loaded: the first read raises (so the bot refuses to start), and a
later bad edit keeps the last good policy in force and logs why.
"""

import hashlib
import logging
import threading
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.domain.errors import PolicyError
from app.domain.policy import Policy, parse_policy

log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[Path, tuple[float, Policy]] = {}


def read_toml(path: Path) -> tuple[bytes, str, dict[str, Any]]:
    """The file's bytes, its text and its TOML table; PolicyError when any of them is unusable."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
        return data, text, tomllib.loads(text)
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {path} does not exist") from exc
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy file {path} is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from exc


def read_policy(path: Path) -> Policy:
    """Parse the file, uncached, with its text and SHA-256."""
    data, text, raw = read_toml(path)
    return replace(
        parse_policy(raw), source_text=text, source_sha256=hashlib.sha256(data).hexdigest()
    )


def load_policy(path: Path) -> Policy:
    resolved = path.resolve()
    try:
        mtime = resolved.stat().st_mtime
    except FileNotFoundError:
        mtime = -1.0  # read_policy names the missing file
    with _lock:
        cached = _cache.get(resolved)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        policy = read_policy(resolved)
    except PolicyError as exc:
        if cached is None:
            raise
        log.error("policy file %s was not reloaded, the last good one stays: %s", path, exc)
        policy = cached[1]  # and not read again until the file changes
    with _lock:
        _cache[resolved] = (mtime, policy)
    return policy
