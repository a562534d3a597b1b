"""The chat core shared by every channel: one turn through Rasa, chat sessions, merchant identity."""
