"""The Rasa API token never shows on a command line or in a file others can read, and still protects Rasa."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from bot.rasa.serve import rasa_argv, read_token
from tests.support import texts

pytestmark = pytest.mark.integration


def _group_cmdlines(pgid: int) -> list[str]:
    """Command lines of every process in a process group (the Rasa server and anything it spawned)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != pgid:
                continue
            out.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (ProcessLookupError, PermissionError, FileNotFoundError):
            continue
    return out


def test_token_is_not_on_any_command_line(live_stack):
    token = live_stack.settings.rasa_token.get_secret_value()
    rasa = live_stack.procs["rasa"]
    cmdlines = _group_cmdlines(rasa.pid)
    assert cmdlines, "the Rasa process group should be visible in /proc"
    assert any("bot.rasa.serve" in c for c in cmdlines)
    assert all(token not in c for c in cmdlines)


def test_endpoints_file_is_private_and_holds_no_token(live_stack):
    token = live_stack.settings.rasa_token.get_secret_value()
    files = list(live_stack.settings.data_dir.glob("endpoints-*.yml"))
    assert files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert token not in f.read_text()
    token_file = live_stack.settings.data_dir / "rasa-token"
    if token_file.exists():
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_rasa_api_still_requires_the_token_and_actions_still_run(live_stack, chat):
    token = live_stack.settings.rasa_token.get_secret_value()
    assert httpx.get(f"{live_stack.rasa_url}/status", timeout=10).status_code in (401, 403)
    assert httpx.get(f"{live_stack.rasa_url}/status", params={"token": "wrong"}, timeout=10).status_code in (401, 403)
    assert httpx.get(f"{live_stack.rasa_url}/status", params={"token": token}, timeout=10).status_code == 200
    # An FAQ answer is a custom action: Rasa reached the action endpoint with the token from its environment.
    status, body = chat("tok-check-1", "打印机没纸了怎么装纸")
    assert status == 200
    assert "纸" in texts(body)


def test_launcher_refuses_a_token_on_the_command_line():
    with pytest.raises(SystemExit):
        rasa_argv(["--auth-token", "abc"], "abc")
    with pytest.raises(SystemExit):
        rasa_argv(["--auth-token=abc"], "abc")
    argv = rasa_argv(["-p", "5005"], "s3cret")
    assert argv[:2] == ["rasa", "run"] and "--enable-api" in argv and argv[-2:] == ["-p", "5005"]


def test_token_from_a_file(tmp_path):
    f = tmp_path / "token"
    f.write_text("from-file\n")
    assert read_token({"POSBOT_RASA_TOKEN_FILE": str(f)}) == "from-file"
    assert read_token({"POSBOT_RASA_TOKEN": "env", "POSBOT_RASA_TOKEN_FILE": str(f)}) == "env"
    assert read_token({}) == ""
