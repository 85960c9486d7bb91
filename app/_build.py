"""Build backend: setuptools, except that it refuses regular wheels.

A regular wheel would unpack our `slack/` over the legacy `slack` package that slack_sdk
installs, corrupting both. Only editable installs (`pip install -e .`) are allowed.
"""

from typing import Any

from setuptools.build_meta import (  # noqa: F401  (re-exported hooks of the PEP 517/660 backend)
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

REFUSAL = (
    "expense-bot installs only in editable mode: run `pip install -e .`. A regular wheel "
    "would overwrite slack_sdk's legacy top-level `slack` package with ours."
)


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    raise SystemExit(REFUSAL)
