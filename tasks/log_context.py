"""Worker logging: our structured format, with the task and expense ids on every line."""

import uuid
from typing import Any

from celery.signals import setup_logging, task_postrun, task_prerun

from app.logs import bind, configure_logging, unbind_all
from app.settings import get_settings


@setup_logging.connect  # type: ignore[untyped-decorator]
def _configure(**_kwargs: Any) -> None:
    """Connecting this stops Celery from installing its own log format."""
    configure_logging(get_settings())


def _expense_id(args: Any) -> str | None:
    """Our tasks take the expense id first, where they have one."""
    if not args:
        return None
    try:
        return str(uuid.UUID(str(args[0])))
    except ValueError:
        return None


@task_prerun.connect  # type: ignore[untyped-decorator]
def _bind_task(task_id: str, task: Any, args: Any = None, **_kwargs: Any) -> None:
    unbind_all()
    expense_id = _expense_id(args)
    bind(task_id=task_id, task=task.name, **({"expense_id": expense_id} if expense_id else {}))


@task_postrun.connect  # type: ignore[untyped-decorator]
def _unbind_task(**_kwargs: Any) -> None:
    unbind_all()
