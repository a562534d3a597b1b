"""The linear intent classifier, trained and reloaded where Rasa runs it (.venv-rasa).

A small pipeline (jieba → word/char counts → sentence encoder → classifier) is built from
Rasa's own component classes and model storage, so training, persisting to the model
archive's storage and loading back are the real code paths.
"""

from __future__ import annotations

import json
import subprocess
import textwrap

from bot.rasa.project import RASA_VENV, rasa_env

PROBE = textwrap.dedent(
    """
    import json, sys, tempfile
    from pathlib import Path
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from bot.nlu.tokenizer import CleanJiebaTokenizer
    from bot.nlu.sentence_featurizer import SentenceEncoderFeaturizer
    from bot.nlu.intent_classifier import LinearIntentClassifier

    train, probe = json.loads(sys.argv[1])
    storage = LocalModelStorage(Path(tempfile.mkdtemp()))
    ctx = ExecutionContext(GraphSchema({}), "probe")
    tok = CleanJiebaTokenizer.create(CleanJiebaTokenizer.get_default_config(), storage, Resource("tok"), ctx)
    cv_words = CountVectorsFeaturizer.create(CountVectorsFeaturizer.get_default_config(), storage, Resource("w"), ctx)
    cv_chars = CountVectorsFeaturizer.create(
        {**CountVectorsFeaturizer.get_default_config(), "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 3},
        storage, Resource("c"), ctx)
    use = SentenceEncoderFeaturizer.create({"alias": None}, storage, Resource("use"), ctx)
    stages = [tok, cv_words, cv_chars, use]

    data = TrainingData([Message(data={"text": t, "intent": i}) for i, texts in train.items() for t in texts])
    tok.process_training_data(data)
    cv_words.train(data); cv_words.process_training_data(data)
    cv_chars.train(data); cv_chars.process_training_data(data)
    use.process_training_data(data)
    config = LinearIntentClassifier.get_default_config()
    resource = Resource("intents")
    LinearIntentClassifier.create(config, storage, resource, ctx).train(data)
    clf = LinearIntentClassifier.load(config, storage, resource, ctx)  # what a served model does

    messages = [Message(data={"text": t}) for t in probe]
    for stage in stages:
        stage.process(messages)
    fast, design = clf.probabilities(messages), clf.design_probabilities(messages)
    import numpy as np
    same_features = all(  # the classifier's own reading of the features is Rasa's (which deep-copies)
        np.array_equal(clf._sparse(m).toarray(), m.get_sparse_features("text")[1].features.toarray())
        and np.array_equal(clf._dense(m), np.asarray(m.get_dense_features("text")[1].features).reshape(1, -1))
        for m in messages
    )
    clf.process(messages)
    out = [{"text": m.get("text"), "intent": m.get("intent"), "ranking": m.get("intent_ranking")} for m in messages]
    untrained = LinearIntentClassifier.load(config, storage, Resource("never-trained"), ctx)
    empty = Message(data={"text": "你好"})
    untrained.process([empty])
    out.append({"untrained": empty.get("intent")})
    out.append({"fast_vs_design": float(abs(fast - design).max()), "shape": list(fast.shape), "same": same_features})
    print(json.dumps(out, ensure_ascii=False))
    """
)

TRAIN = {
    "settlement_problem": [
        "钱怎么还没到账",
        "结算款没到",
        "昨天的款今天没到账",
        "到账慢",
        "刷的钱没收到",
        "手续费扣多了",
    ],
    "report_fault": ["打印机不出纸", "机器黑屏了", "读卡失败", "色带不转", "刷卡机开不了机", "小票打不出来"],
    "greet": ["你好", "您好", "在吗", "哈喽", "早上好", "有人吗"],
}


def run(probe: list[str]) -> list[dict]:
    proc = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), "-c", PROBE, json.dumps([TRAIN, probe], ensure_ascii=False)],
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_trained_and_reloaded_classifier_ranks_unseen_wordings():
    *rows, untrained, agreement = run(["我的钱一直没到账", "pos机打印机不出纸了", "您好 在吗"])
    # the per-message inference gives the numbers of the design matrix the classifier was fitted on
    assert agreement["shape"] == [3, len(TRAIN)] and agreement["fast_vs_design"] < 1e-9, agreement
    assert agreement["same"], agreement
    assert [r["intent"]["name"] for r in rows] == ["settlement_problem", "report_fault", "greet"]
    for r in rows:
        ranking = r["ranking"]
        assert [x["name"] for x in ranking][0] == r["intent"]["name"]
        assert sorted(x["name"] for x in ranking) == sorted(TRAIN)  # every intent ranked once
        assert abs(sum(x["confidence"] for x in ranking) - 1.0) < 1e-6  # probabilities, not scores
        assert ranking[0]["confidence"] > ranking[1]["confidence"]
    # a model without trained weights answers "no intent" instead of failing
    assert untrained == {"untrained": {"name": None, "confidence": 0.0}}
