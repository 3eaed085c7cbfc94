"""Run-time settings read from ``CHOKEPOINT_*`` environment variables.

Library functions take explicit parameters; only the entry points (CLI, dashboard)
read :class:`Settings`.

>>> Settings.from_env({"CHOKEPOINT_PORT": "8060"}).port
8060
>>> Settings.from_env({}).host
'127.0.0.1'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import ConfigError

__all__ = ["Settings", "default_demo_store"]


def _bool(val: str, name: str) -> bool:
    v = val.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name}={val!r}: expected true/false")


def default_demo_store() -> Path:
    """Where ``chokepoint demo`` keeps the demo store: ``$CHOKEPOINT_HOME/demo-store``.

    ``CHOKEPOINT_HOME`` defaults to ``~/.cache/chokepoint-analytics``.
    """
    home = os.environ.get("CHOKEPOINT_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "chokepoint-analytics"
    return base / "demo-store"


@dataclass(frozen=True)
class Settings:
    """Dashboard and CLI settings (environment variables ``CHOKEPOINT_*``)."""

    host: str = "127.0.0.1"
    port: int = 8050
    debug: bool = False
    store: str | None = None
    workers: int = 1
    risk_config: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        kw: dict = {}
        if "CHOKEPOINT_HOST" in env:
            kw["host"] = env["CHOKEPOINT_HOST"]
        for key, name in (("port", "CHOKEPOINT_PORT"), ("workers", "CHOKEPOINT_WORKERS")):
            if name in env:
                try:
                    kw[key] = int(env[name])
                except ValueError:
                    raise ConfigError(f"{name}={env[name]!r}: expected an integer") from None
        if "CHOKEPOINT_DEBUG" in env:
            kw["debug"] = _bool(env["CHOKEPOINT_DEBUG"], "CHOKEPOINT_DEBUG")
        if "CHOKEPOINT_STORE" in env:
            kw["store"] = env["CHOKEPOINT_STORE"]
        if "CHOKEPOINT_RISK_CONFIG" in env:
            kw["risk_config"] = env["CHOKEPOINT_RISK_CONFIG"]
        return cls(**kw)
