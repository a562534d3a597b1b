"""Both servers run their numeric libraries on ``math_threads`` threads (bot.rasa.stack), as the images do."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.rasa.project import MATH_THREAD_VARS

pytestmark = pytest.mark.integration


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def test_rasa_and_the_app_run_one_math_thread_each(live_stack):
    expected = str(live_stack.settings.math_threads)
    assert expected == "1"  # the default: messages side by side, no spinning BLAS threads
    for name in ("rasa", "app"):
        env = _environ(live_stack.procs[name].pid)
        assert {var: env.get(var) for var in MATH_THREAD_VARS} == dict.fromkeys(MATH_THREAD_VARS, expected), name


@pytest.mark.parametrize("dockerfile", ["app.Dockerfile", "rasa.Dockerfile"])
def test_the_images_set_the_same_thread_counts(dockerfile):
    text = (Path(__file__).resolve().parents[2] / "deploy" / dockerfile).read_text()
    for var in MATH_THREAD_VARS:
        assert f"{var}=1" in text, (dockerfile, var)
