"""Rasa-side extensions that are not NLU: a dialogue policy and the tracker store.

Like ``bot.nlu``, these modules run inside Rasa's own environment (.venv-rasa, Python
3.10, rasa 3.6, SQLAlchemy 1.4): they import only rasa and its dependencies.
"""
