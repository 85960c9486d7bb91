"""A pooled connection that sat idle is checked before use, and replaced if it was dropped."""

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app.db_ping import ping_idle_connections


def test_a_dropped_idle_connection_is_replaced_before_use(own_postgres_url: str) -> None:
    for idle_seconds, survives in ((0.0, True), (3600.0, False)):
        engine = create_engine(own_postgres_url, pool_size=1, max_overflow=0)
        ping_idle_connections(engine, idle_seconds=idle_seconds)
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin = create_engine(own_postgres_url)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        try:
            with engine.connect() as conn:
                # The pool hands back its only connection: the one the server killed.
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert survives, "without the ping the dead connection must fail"
        except OperationalError:
            assert not survives, "the idle connection should have been pinged and replaced"
        finally:
            engine.dispose()
