"""Rasa NLU component: JiebaTokenizer that drops blank tokens.

Runs inside Rasa's own environment (.venv-rasa), so it imports only rasa and jieba.
jieba keeps spaces as tokens in mixed text such as "POS机 刷卡" (Rasa issue 7910);
blank tokens confuse the featurizers and entity span alignment.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class CleanJiebaTokenizer(JiebaTokenizer):
    """Jieba tokenizer with the domain dictionary and without whitespace tokens."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        return [t for t in tokens if t.text.strip()]
