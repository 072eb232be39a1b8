"""The API tests that need SQLite *and* PostgreSQL reuse the ticket tests' database fixtures."""

from tests.escalation.conftest import db_url, make_client  # noqa: F401  (fixtures)
