"""The auditor page in-process, as production on PostgreSQL (see tests/api/conftest.py)."""

from tests.api.conftest import (  # noqa: F401  (fixtures shared with the API tests)
    client,
    make_client,
    policy_file,
    slack_standin,
)
