"""Conversations: message log, offered buttons, handoff, staff replies, photos, FAQ feedback and ratings.

Import-light on purpose: the service lives in ``bot.conversations.service``, its parts in one
module each (``transcript``, ``buttons``, ``handoff``, ``outgoing``, ``photos``, ``feedback``).
"""
