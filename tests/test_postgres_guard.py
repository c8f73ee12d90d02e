"""In CI a PostgreSQL test that cannot run fails the run (locally it is skipped, with the reason in the summary)."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.config import ROOT

ONE_POSTGRES_TEST = "tests/test_schema.py::test_the_migrations_make_exactly_the_schema_of_the_models[postgresql]"


def run_without_postgres(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL_PG", "CI")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_POSTGRES_TEST],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**environment, **env},
        timeout=120,
        check=False,
    )


def test_in_ci_a_missing_postgres_fails_the_run() -> None:
    result = run_without_postgres(CI="true")
    assert result.returncode != 0
    assert "skipped" not in result.stdout
    assert "in CI the PostgreSQL tests must run" in result.stdout
