"""Rasa-side extensions that are not NLU: a dialogue policy, the tracker store, hot-path fixes,
and the per-turn hook run in-process (local_actions).

Like ``bot.nlu``, these modules run inside Rasa's own environment (.venv-rasa, Python
3.10, rasa 3.6, SQLAlchemy 1.4): they import only rasa and its dependencies. Rasa imports
this package when it loads the tracker store (endpoints.yml) or the policy (the model),
which installs ``speedups`` and ``local_actions``.
"""

try:
    import rasa  # noqa: F401
except ImportError:  # imported from the app environment (e.g. for its docstrings): nothing to patch
    pass
else:
    from bot.rasa_ext import local_actions, speedups

    speedups.install()
    local_actions.install()
