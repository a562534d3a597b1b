"""Core CLI commands: database migrations, settings, Rasa model cache, and running the stack."""

from __future__ import annotations

import json
import signal
import time

import click

from bot.core.settings import Settings, get_settings


@click.group()
def db() -> None:
    """Database migrations (SQLite by default, PostgreSQL via POSBOT_DATABASE_URL)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (safe to run repeatedly)."""
    from bot.core.db import upgrade

    url = get_settings().effective_database_url
    upgrade(url, revision)
    click.echo(f"database at {revision}: {_mask(url)}")


def _mask(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@click.command("settings")
def show_settings() -> None:
    """Print the effective settings (secrets masked) with their descriptions."""
    s = get_settings()
    for name, f in Settings.model_fields.items():
        value = getattr(s, name)
        if hasattr(value, "get_secret_value"):
            value = "***" if value.get_secret_value() else ""
        click.echo(f"POSBOT_{name.upper()}={value}\n    {f.description}")


@click.group()
def rasa() -> None:
    """Rasa model cache and generated Rasa config."""


@rasa.command("model-path")
def rasa_model_path() -> None:
    """Path of the cached model for the current training inputs."""
    from bot.rasa.project import model_path

    click.echo(model_path())


@rasa.command("train")
@click.option("--force", is_flag=True, help="Train even if a model for these inputs is cached.")
def rasa_train(force: bool) -> None:
    """Train the Rasa model only when its inputs changed."""
    from bot.rasa.project import train_if_needed

    click.echo(train_if_needed(force))


@rasa.command("endpoints")
def rasa_endpoints() -> None:
    """Print the endpoints.yml Rasa gets (action endpoint, tracker store, lock store)."""
    from bot.rasa.project import render_endpoints

    click.echo(render_endpoints(get_settings()))


@click.command("up")
@click.option("--rasa-port", default=5005, show_default=True)
@click.option("--timeout", default=300, show_default=True, help="Seconds to wait for both processes to be healthy.")
def serve(rasa_port: int, timeout: int) -> None:
    """Start the Rasa server and the app service, wait for health, print the URLs; Ctrl-C stops both."""
    from bot.rasa.project import model_path
    from bot.rasa.stack import Stack

    settings = get_settings()
    model = model_path()
    if not model.exists():
        raise click.ClickException(f"no trained model at {model}; run `posbot rasa train` (make run does)")
    stack = Stack(model=model, settings=settings, rasa_port=rasa_port)
    stop = {"now": False}

    def _on_signal(*_):
        stop["now"] = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    click.echo(f"starting Rasa on 127.0.0.1:{rasa_port} and the app on {stack.app_url} (model load takes ~1 min) ...")
    stack.start()
    try:
        health = stack.wait_healthy(timeout)
        # /healthz shows its details (Rasa version, FAQ index) only to an API key: say what we know.
        click.echo(json.dumps({"status": health.get("status"), "model": model.name}, ensure_ascii=False))
        click.echo(
            "\nReady:\n"
            f"  Chat page (merchants):  {stack.app_url}/\n"
            f"  Staff console:          {stack.app_url}/staff\n"
            f"  API docs:               {stack.app_url}/docs\n"
            f"  Health:                 {stack.app_url}/healthz (details with -H 'X-API-Key: ...')\n"
            f"  Rasa server:            {stack.rasa_url}\n"
            f"  Logs:                   {settings.data_dir / 'logs'}\n"
            "Press Ctrl-C to stop both processes."
        )
        while not stop["now"]:
            for name, p in stack.procs.items():
                if p.poll() is not None:
                    raise click.ClickException(f"{name} stopped unexpectedly (exit {p.returncode}); see the logs")
            time.sleep(0.5)
    except (TimeoutError, RuntimeError) as e:
        raise click.ClickException(str(e)) from e
    finally:
        click.echo("stopping ...", err=True)
        stack.stop()
