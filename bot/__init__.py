"""posbot: customer-support assistant for merchants using POS terminals.

Keep this file import-free: ``bot.nlu`` is also imported inside Rasa's own
Python 3.10 environment, which has none of the app service's packages.
"""
