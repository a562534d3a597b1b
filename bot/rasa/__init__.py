"""Everything about the Rasa process: its client, its project files, how it is served and the process stack.

Keep this file import-free: ``bot.rasa.serve`` runs in Rasa's own Python 3.10 environment.
"""
