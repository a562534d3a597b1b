"""Conversations: handoff state, message log, staff replies, FAQ feedback and ratings.

Import-light on purpose: the service lives in ``bot.conversations.service``.
"""
