"""Reads the policy file (TOML) into the domain's Policy, re-reading it when it changes."""

import hashlib
import threading
import tomllib
from dataclasses import replace
from pathlib import Path

from app.domain.errors import PolicyError
from app.domain.policy import Policy, parse_policy

_lock = threading.Lock()
_cache: dict[Path, tuple[float, Policy]] = {}


def load_policy(path: Path) -> Policy:
    resolved = path.resolve()
    try:
        mtime = resolved.stat().st_mtime
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file {path} does not exist") from exc
    with _lock:
        cached = _cache.get(resolved)
        if cached and cached[0] == mtime:
            return cached[1]
    data = resolved.read_bytes()
    try:
        text = data.decode("utf-8")
        raw = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise PolicyError(f"policy file {path} is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from exc
    policy = replace(
        parse_policy(raw), source_text=text, source_sha256=hashlib.sha256(data).hexdigest()
    )
    with _lock:
        _cache[resolved] = (mtime, policy)
    return policy
