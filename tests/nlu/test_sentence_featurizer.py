"""The NLU sentence featurizer, run where Rasa runs it: inside .venv-rasa (Python 3.10).

The component gives DIET the topic of a message. These checks run it through Rasa's own
Message/TrainingData objects in a subprocess and assert what DIET will see.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

from bot.rasa.project import RASA_VENV, rasa_env

PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from bot.nlu.sentence_featurizer import SentenceEncoderFeaturizer

    texts = json.loads(sys.argv[1])
    featurizer = SentenceEncoderFeaturizer({"alias": None}, "probe")
    data = TrainingData([Message(data={"text": t, "intent": "x"}) for t in texts])
    featurizer.process_training_data(data)
    out = []
    for m in data.training_examples:
        seq, sent = m.get_dense_features("text")
        out.append({"seq": seq is not None, "sent": None if sent is None else sent.features.tolist()})
    # process() at inference: a message without text (e.g. a button payload's empty text) is left alone
    empty = Message(data={"text": ""})
    featurizer.process([empty])
    out.append({"empty_has_features": bool(empty.features)})
    print(json.dumps(out))
    """
)


def featurize(texts: list[str]) -> list[dict]:
    proc = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE, json.dumps(texts, ensure_ascii=False)],
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cos(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_each_message_gets_one_unit_length_sentence_vector_and_no_sequence_features():
    out = featurize(["pos机押金怎么退", "ＰＯＳ機押金怎麼退"])
    for row in out[:2]:
        assert row["seq"] is False
        vec = row["sent"]
        assert len(vec) == 1 and len(vec[0]) == 512
        assert abs(sum(x * x for x in vec[0]) - 1.0) < 1e-3
    # full-width and traditional spellings are normalised like the FAQ index does
    assert cos(out[0]["sent"], out[1]["sent"]) > 0.99
    assert out[2] == {"empty_has_features": False}


def test_vectors_separate_pos_questions_from_other_subjects():
    deposit, deposit_again, insurance, fault, fault_again = (
        r["sent"]
        for r in featurize(["押金怎么退", "刷卡机押金能退回来吗", "医保怎么交", "打印机不出纸", "小票打不出来了"])[:5]
    )
    assert cos(deposit, deposit_again) > cos(deposit, insurance)
    assert cos(fault, fault_again) > cos(fault, insurance)
