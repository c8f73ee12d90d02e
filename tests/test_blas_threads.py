"""A bot process keeps numpy's BLAS on the calling thread (its spinning helper threads took the cores that the
replicas and Rasa share: the scale test's crisis reply slowed down), unless the operator chose otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.config import ROOT

SHOW_SETTING = "import bot, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"


def _setting_in_fresh_process(given: str | None) -> str:
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    done = subprocess.run(
        [sys.executable, "-c", SHOW_SETTING], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_importing_the_bot_limits_blas_to_one_thread() -> None:
    assert _setting_in_fresh_process(None) == "1"


def test_an_operators_own_blas_setting_is_kept() -> None:
    assert _setting_in_fresh_process("3") == "3"
