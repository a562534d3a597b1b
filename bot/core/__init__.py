"""The app service's own wiring: settings, database, services, the FastAPI app, the outbox lease.

Keep this file import-free: ``bot.core.private_files`` is also imported in Rasa's Python.
"""
