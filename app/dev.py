"""The embedded default: migrate, seed demo people, run a worker, serve the API and sandbox."""

import os
import signal
import subprocess
import sys
from datetime import date

from app.db import Database
from app.migrate import upgrade
from app.secrets_check import masked_url
from app.services.employees import add_employee, create_token, find_by_email
from app.settings import Settings, get_settings

DEMO_PEOPLE = (
    ("bob", "Bob Approver", "U0BOB", ("approver",)),
    ("alice", "Alice Employee", "U0ALICE", ("employee",)),
    ("carol", "Carol Finance", "U0CAROL", ("approver", "finance")),
    ("dana", "Dana Auditor", "U0DANA", ("auditor",)),
    ("erin", "Erin Admin", "U0ERIN", ("admin",)),
)


GRACEFUL_SECONDS = 5


def _die_with_parent() -> None:
    """On Linux the worker is sent SIGTERM when `dev` dies, even by SIGKILL: no orphan worker."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def seed_demo_people(settings: Settings) -> dict[str, str]:
    """Create the demo people once; their tokens live in files under the data dir."""
    db = Database(settings.database_url, job_sender=lambda _jobs: None)
    tokens: dict[str, str] = {}
    try:
        for handle, name, slack_id, roles in DEMO_PEOPLE:
            token_file = settings.data_dir / f"{handle}.token"
            with db.session() as session:
                email = f"{handle}@example.com"
                person = find_by_email(session, email) or add_employee(
                    session,
                    email=email,
                    name=name,
                    slack_user_id=slack_id,
                    roles=roles,
                    manager_email="bob@example.com" if handle == "alice" else None,
                )
                if not token_file.exists():
                    token_file.write_text(create_token(session, person) + "\n")
                    token_file.chmod(0o600)
            tokens[handle] = token_file.read_text().strip()
    finally:
        db.dispose()
    return tokens


def banner(settings: Settings, base: str) -> str:
    lines = [
        "",
        "Expense bot is running.",
        f"  API docs:       {base}/docs",
    ]
    if settings.uses_sandbox:
        lines.append(f"  Slack sandbox:  {base}/sandbox/   (click Approve / Reject / Comment here)")
    lines += [
        f"  Database:       {masked_url(settings.database_url)}",
        f"  LLM reviewer:   {'on' if settings.llm_enabled else 'off (rules only; humans decide)'}",
        "",
        "Submit an expense as Alice:",
        f"  curl -s -X POST {base}/expenses \\",
        f'    -H "Authorization: Bearer $(cat {settings.data_dir}/alice.token)" \\',
        "    -H 'Content-Type: application/json' \\",
        '    -d \'{"amount":"42.50","currency":"USD","category":"meals","merchant":"Cafe",'
        f'"description":"Team lunch","incurred_on":"{date.today().isoformat()}"}}\'',
        "",
    ]
    return "\n".join(lines)


def run_dev(settings: Settings, *, host: str, port: int) -> int:
    import uvicorn

    from app.main import create_app

    base = f"http://{host}:{port}"
    # The worker and the sandbox must reach this very server, whatever .env says.
    os.environ.setdefault("PUBLIC_BASE_URL", base)
    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    if settings.uses_sandbox:
        seed_demo_people(settings)
    worker = subprocess.Popen(
        [sys.executable, "-m", "app", "worker", "--beat", "--concurrency", "8"],
        env=os.environ.copy(),
        # preexec_fn is unsafe with threads; none have started in this process yet.
        preexec_fn=_die_with_parent,
    )
    print(banner(settings, base), flush=True)
    try:
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            log_config=None,  # keep the structured logging `expense-bot` configured
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
    return 0
