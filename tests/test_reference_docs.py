"""The generated reference pages (docs/settings.md, docs/cli.md) match the code."""

from __future__ import annotations

from bot.cli.reference import PAGES, cli_markdown, settings_markdown, stale_pages
from bot.core.settings import Settings


def test_reference_pages_are_current():
    stale = stale_pages()
    assert not stale, f"stale reference pages {stale}: run `.venv/bin/posbot docs generate` and commit docs/"


def test_every_setting_is_documented_with_its_env_var():
    page = settings_markdown()
    for name, field in Settings.model_fields.items():
        assert f"`POSBOT_{name.upper()}`" in page
        assert field.description, f"setting {name} has no description"


def test_every_command_has_a_section():
    page = cli_markdown()
    for command in ("posbot faq build", "posbot staff create", "posbot db upgrade", "posbot docs generate"):
        assert f"`{command}`" in page


def test_stale_page_is_detected(tmp_path):
    for name, render in PAGES.items():
        (tmp_path / name).write_text(render(), encoding="utf-8")
    assert stale_pages(tmp_path) == []
    (tmp_path / "cli.md").write_text("# outdated\n", encoding="utf-8")
    assert stale_pages(tmp_path) == ["cli.md"]
