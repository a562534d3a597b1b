"""Tests of bot.tickets and its API (a package, so module names do not clash with other test folders)."""
