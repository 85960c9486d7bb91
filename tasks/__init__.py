"""Celery tasks: thin adapters that re-read state by id and call the core."""
