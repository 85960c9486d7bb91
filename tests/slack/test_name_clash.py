"""Our `slack` package is the one every entry point imports, and the SDK's files stay intact."""

import base64
import csv
import hashlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import slack

PROJECT = Path(__file__).resolve().parents[2]
PROBE = "import slack, sys; print(slack.__file__)"


def test_tests_import_our_slack() -> None:
    assert Path(slack.__file__ or "").resolve() == PROJECT / "slack" / "__init__.py"


def test_sdk_files_are_untouched() -> None:
    """Every file slack_sdk's wheel installed under slack/ still has the hash in its RECORD."""
    dist = metadata.distribution("slack_sdk")
    record = dist.read_text("RECORD")
    assert record is not None
    checked = 0
    for path, digest, _size in csv.reader(record.splitlines()):
        if not path.startswith("slack/") or not digest or "__pycache__" in path:
            continue
        algo, _, expected = digest.partition("=")
        data = Path(str(dist.locate_file(path))).read_bytes()
        actual = base64.urlsafe_b64encode(hashlib.new(algo, data).digest()).rstrip(b"=").decode()
        assert actual == expected, f"{path} was overwritten"
        checked += 1
    assert checked > 10, "expected slack_sdk to ship its legacy slack/ package"
    # Look only at what is installed in site-packages (the project's own egg-info lists sources).
    site_packages = Path(str(dist.locate_file("")))
    owners = [
        d.metadata["Name"]
        for d in metadata.distributions(path=[str(site_packages)])
        if any(str(f).startswith("slack/") for f in (d.files or []))
    ]
    assert owners == ["slack_sdk"], f"only slack_sdk may install files under slack/: {owners}"


def _run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # Importing the worker module builds its settings; production would want real secrets.
    env["APP_ENV"] = "development"
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("module", ["app.main", "tasks.celery_app", "app.cli"])
def test_entry_point_modules_import_our_slack_from_anywhere(module: str, tmp_path: Path) -> None:
    """The API (app.main), the worker (tasks.celery_app) and the CLI, run from a foreign cwd."""
    code = f"import {module}; import slack; print(slack.__file__)"
    printed = _run([sys.executable, "-c", code], cwd=tmp_path).strip().splitlines()[-1]
    assert Path(printed).resolve() == PROJECT / "slack" / "__init__.py"


def test_the_clash_is_real_and_app_resolves_it(tmp_path: Path) -> None:
    """Without our bootstrap the SDK's package wins; after importing `app`, ours does."""
    code = (
        "import importlib.util, sys, types\n"
        "origin = importlib.util.find_spec('slack').origin\n"
        "print(origin)\n"
        "stale = types.ModuleType('slack'); stale.__file__ = origin; sys.modules['slack'] = stale\n"
        "import app, slack\n"
        "print(slack.__file__)\n"
    )
    first, second = _run([sys.executable, "-c", code], cwd=tmp_path).strip().splitlines()[-2:]
    assert "site-packages" in first
    assert Path(second).resolve() == PROJECT / "slack" / "__init__.py"


def test_cli_console_script_reports_our_slack(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("expense-bot")
    out = _run([str(script), "doctor"], cwd=tmp_path)
    assert f"slack package: {PROJECT / 'slack' / '__init__.py'}" in out


def test_regular_wheels_are_refused(tmp_path: Path) -> None:
    """`pip install .` would unpack our slack/ over the SDK's; the build backend refuses it."""
    import tomllib

    from app import _build

    pyproject = tomllib.loads((PROJECT / "pyproject.toml").read_text())
    assert pyproject["build-system"]["build-backend"] == "app._build"
    with pytest.raises(SystemExit, match="editable"):
        _build.build_wheel(str(tmp_path))
    assert list(tmp_path.iterdir()) == []
