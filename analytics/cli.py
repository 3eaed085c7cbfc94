"""The ``chokepoint`` command line.

``chokepoint demo`` builds the demo store when missing and serves the dashboard on
http://127.0.0.1:8050; ``chokepoint serve --store DIR`` serves any store. Every command
prints a clear message and exits with status 2 on bad input (a
:class:`~analytics.errors.ChokepointError`), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from analytics.config import Settings, default_demo_store
from analytics.errors import ChokepointError

__all__ = ["main", "build_parser"]

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str):
    def deco(fn):
        _COMMANDS[name] = fn
        return fn
    return deco


def _info(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- demo / serve / info
def ensure_demo_store(path: Path, *, seed: int = 0, scale: float = 1.0,
                      rebuild: bool = False) -> Path:
    """Build the demo store at ``path`` unless one is there already."""
    from analytics import store

    if store.is_store(path) and not rebuild:
        return path
    from analytics.demo import make_demo_world

    _info(f"building the demo world (seed {seed}, scale {scale:g}) into {path} ...")
    world = make_demo_world(seed=seed, scale=scale)
    store.write_dataset(world.dataset, path, overwrite=True)
    try:
        from analytics.precompute import precompute_store
    except ImportError:  # precomputation arrives with the analytics modules
        pass
    else:
        precompute_store(path)
    _info(f"demo store ready: {store.store_info(path)['rows']['flows']:,} flow rows")
    return path


def serve(store_path: Path, *, host: str, port: int, workers: int = 1,
          debug: bool = False) -> int:
    """Serve the dashboard on ``host:port``: gunicorn with ``workers`` processes, or
    Dash's development server when ``debug`` (or where gunicorn cannot run)."""
    from analytics import store

    if not store.is_store(store_path):
        raise ChokepointError(
            f"no store at {store_path}: build one with `chokepoint demo` or "
            f"`chokepoint ingest ...`, then pass --store DIR"
        )
    os.environ["CHOKEPOINT_STORE"] = str(Path(store_path).resolve())
    url = f"http://{host}:{port}"
    if not debug and os.name == "posix" and _has_gunicorn():
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        if not Path(gunicorn).exists():
            import shutil

            gunicorn = shutil.which("gunicorn") or gunicorn
        cmd = [gunicorn, "--workers", str(max(workers, 1)), "--bind", f"{host}:{port}",
               "--preload", "--timeout", "120", "--log-level", "warning",
               "dashboards.wsgi:server"]
        _info(f"serving {store_path} on {url} with {max(workers, 1)} gunicorn worker(s) "
              f"(Ctrl+C to stop)")
        sys.stdout.flush()
        # become gunicorn: signals (Ctrl+C, kill) reach the server itself, no orphan left
        os.execv(gunicorn, cmd)
    from dashboards.app import create_app

    app = create_app(store_path)
    _info(f"serving {store_path} on {url} (Ctrl+C to stop)")
    app.run(host=host, port=port, debug=debug)
    return 0


def _has_gunicorn() -> bool:
    import importlib.util

    return importlib.util.find_spec("gunicorn") is not None


@_command("demo")
def _cmd_demo(args: argparse.Namespace) -> int:
    path = Path(args.store) if args.store else default_demo_store()
    ensure_demo_store(path, seed=args.seed, scale=args.scale, rebuild=args.rebuild)
    if args.no_serve:
        print(path)
        return 0
    return serve(path, host=args.host, port=args.port, workers=args.workers,
                 debug=args.debug)


@_command("serve")
def _cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    path = args.store or settings.store
    if not path:
        raise ChokepointError("no store given: pass --store DIR (or set CHOKEPOINT_STORE)")
    return serve(Path(path), host=args.host, port=args.port, workers=args.workers,
                 debug=args.debug)


@_command("info")
def _cmd_info(args: argparse.Namespace) -> int:
    import json

    from analytics import store

    print(json.dumps(store.store_info(Path(args.store)), indent=2, default=str))
    return 0


def _add_serve_options(p: argparse.ArgumentParser, settings: Settings) -> None:
    p.add_argument("--host", default=settings.host,
                   help="interface to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=settings.port, help="port (default 8050)")
    p.add_argument("--workers", type=int, default=settings.workers,
                   help="gunicorn worker processes (default 1)")
    p.add_argument("--debug", action="store_true", default=settings.debug,
                   help="Dash debug mode (never on a shared host)")


def build_parser() -> argparse.ArgumentParser:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(
        prog="chokepoint",
        description="Chokepoint, diversion-route and risk analytics for export-control "
                    "analysts.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="build the demo store if missing and serve the dashboard")
    p.add_argument("--store", help="demo store folder (default: $CHOKEPOINT_HOME/demo-store)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--rebuild", action="store_true", help="rebuild the demo store")
    p.add_argument("--no-serve", action="store_true", help="only build the store")
    _add_serve_options(p, settings)

    p = sub.add_parser("serve", help="serve the dashboard on a store")
    p.add_argument("--store", help="store folder (or CHOKEPOINT_STORE)")
    _add_serve_options(p, settings)

    p = sub.add_parser("info", help="print what a store holds")
    p.add_argument("--store", required=True)

    for register in _EXTENSIONS:
        register(sub)
    return parser


#: functions adding further subcommands (ingest, fetch, score, brief, ...)
_EXTENSIONS: list[Callable] = []


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = _COMMANDS.get(args.command) or getattr(args, "handler", None)
    try:
        return int(handler(args) or 0)
    except ChokepointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _load_extensions() -> None:
    """Import the modules that add subcommands (each appends to ``_EXTENSIONS``)."""
    import importlib

    for mod in ("analytics.cli_ingest", "analytics.cli_outputs", "analytics.cli_shipments"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:
                raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
