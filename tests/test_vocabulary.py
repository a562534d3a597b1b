"""bot/vocabulary.py stays importable by Rasa's Python 3.10 (through actions/common.py): standard library only."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_vocabulary_imports_only_the_standard_library():
    tree = ast.parse((ROOT / "bot" / "vocabulary.py").read_text(encoding="utf-8"))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_rasas_python_imports_the_actions_helpers():
    rasa_python = ROOT / ".venv-rasa" / "bin" / "python"
    done = subprocess.run(
        [str(rasa_python), "-c", "import actions.common, actions.texts, bot.vocabulary"],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
