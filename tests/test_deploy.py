"""deploy/: the compose file names real services, commands and settings (no Docker engine runs here, so this
checks what can be checked without one)."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def settings_names() -> set[str]:
    from app.config import Settings

    return {f"AYUDA_{name.upper()}" for name in Settings.model_fields}


def test_compose_has_the_database_cache_two_replicas_a_worker_and_a_proxy():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "index", "api1", "api2", "worker", "proxy"}
    commands = {name: services[name]["command"] for name in ("migrate", "index", "api1", "api2", "worker")}
    assert commands == {"migrate": ["ayuda", "db", "upgrade"], "index": ["ayuda", "index"],
                        "api1": ["ayuda", "serve", "--host", "0.0.0.0", "--port", "8000"],
                        "api2": ["ayuda", "serve", "--host", "0.0.0.0", "--port", "8000"],
                        "worker": ["ayuda", "worker"]}
    for name in ("api1", "api2", "worker"):
        env = services[name]["environment"]
        assert env["AYUDA_JOBS"] == "worker" and env["AYUDA_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["AYUDA_REDIS_URL"].startswith("redis://redis:")
        assert "index:/data/index" in services[name]["volumes"]
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert "api1:8000 api2:8000" in caddy and "health_uri /healthz" in caddy


def test_every_ayuda_variable_in_deploy_is_a_setting():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    names = {k for service in compose["services"].values() for k in (service.get("environment") or {})
             if k.startswith("AYUDA_") and k != "AYUDA_HOSTNAME"}  # the proxy's own variable
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and line.startswith("AYUDA_") and not line.startswith("AYUDA_HOSTNAME"):
            names.add(line.split("=", 1)[0])
    assert names and names <= settings_names(), names - settings_names()


def test_the_cli_has_the_commands_compose_runs():
    from typer.testing import CliRunner

    from app.cli import app

    for args in (["worker", "--help"], ["db", "upgrade", "--help"], ["index", "--help"], ["serve", "--help"]):
        assert CliRunner().invoke(app, args).exit_code == 0, args
