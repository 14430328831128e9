"""Command line: ``sandbox serve``, ``sandbox docs build``."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    from .server import THREADS

    parser = argparse.ArgumentParser(prog="sandbox", description="Stateful API sandbox served from OpenAPI specs.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve every API",
                                description="Serve every API; state is in memory (one process) and "
                                            "lost when it stops.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    serve.add_argument("--seed", type=int, default=None, help="fixture seed (env SANDBOX_SEED, default 42)")
    serve.add_argument("--scale", type=int, default=None, metavar="N",
                       help="fixture scale (env SANDBOX_SCALE, default 1)")
    serve.add_argument("--token", default=None, help="default workspace bearer token (env SANDBOX_TOKEN, "
                                                     "default sandbox-token)")
    serve.add_argument("--client-id", default=None, help="default OAuth2 client id (env SANDBOX_CLIENT_ID, "
                                                         "default sandbox)")
    serve.add_argument("--client-secret", default=None, help="default OAuth2 client secret "
                                                             "(env SANDBOX_CLIENT_SECRET, default sandbox-token)")
    serve.add_argument("--fixtures", action="append", default=None, metavar="FILE",
                       help="scenario file (YAML or JSON) to load into every workspace; one file per "
                            "--fixtures, give it again for more")
    serve.add_argument("--no-validation", dest="validate", action="store_false",
                       help="skip request validation (benchmarks only)")
    serve.add_argument("--strict", action="store_true",
                       help="also validate every response against the spec (a mismatch is a 500)")
    serve.add_argument("--threads", type=int, default=THREADS, metavar="N",
                       help=f"threads per worker for writes and requests that wait (default {THREADS}, started "
                            "as needed; reads run in the worker's event loop)")
    serve.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker processes (default 1 with the in-memory store, which allows no more; "
                            "with --store, the number of cores)")
    serve.add_argument("--admin-token", default=None,
                       help="when set, creating a workspace needs it as bearer token (env SANDBOX_ADMIN_TOKEN)")
    serve.add_argument("--max-workspaces", type=int, default=None,
                       help="live workspaces at most (env SANDBOX_MAX_WORKSPACES, default 2000)")
    serve.add_argument("--max-records", type=int, default=None,
                       help="records one workspace may write (env SANDBOX_MAX_RECORDS, default 10000)")
    serve.add_argument("--max-total-records", type=int, default=None,
                       help="records all workspaces may write together (env SANDBOX_MAX_TOTAL_RECORDS, default 500000)")
    serve.add_argument("--idle-expiry", type=int, default=None, metavar="SECONDS",
                       help="remove a workspace unused this long, 0: never (env SANDBOX_IDLE_EXPIRY, default 86400)")
    serve.add_argument("--max-scale", type=int, default=None, help="largest scale a new workspace may ask for (default 10)")
    serve.add_argument("--store", default=None, metavar="URL",
                       help="where state lives: memory (default), or redis://host:port/db shared by "
                            "workers and replicas (env SANDBOX_STORE)")
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    _add_docs_parser(commands)
    return parser


def _add_docs_parser(commands) -> None:
    docs = commands.add_parser("docs", help="the documentation site")
    actions = docs.add_subparsers(dest="docs_command", required=True)
    build = actions.add_parser("build", help="write the static docs site (works from disk, no network)",
                               formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    build.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the site into")
    build.add_argument("--sandbox-url", default="http://127.0.0.1:8000",
                       help="where \"Try it\" on the pages sends requests (a running sandbox's origin)")


def _docs(args: argparse.Namespace) -> int:
    """``sandbox docs build``: the pages ``/docs`` serves, written as files."""
    from . import create_app
    from .docs import build

    written = build(create_app(Settings.from_env()), args.out, args.sandbox_url.rstrip("/"))
    print(f"sandbox: wrote {len(written)} pages and specs, and static/, to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "docs":
        return _docs(args)
    from .server import PortInUse, bind, serve

    if args.seed is not None and args.seed < 0 or args.scale is not None and args.scale < 1 or args.threads < 1 \
            or args.workers is not None and args.workers < 1:
        print("sandbox: --seed must be >= 0, --scale >= 1, --threads >= 1 and --workers >= 1", file=sys.stderr)
        return 2
    settings = Settings.from_env(seed=args.seed, scale=args.scale, token=args.token, client_id=args.client_id,
                                 client_secret=args.client_secret, validate=args.validate, strict=args.strict,
                                 fixtures=args.fixtures, admin_token=args.admin_token,
                                 max_workspaces=args.max_workspaces, max_records=args.max_records,
                                 max_total_records=args.max_total_records, idle_expiry=args.idle_expiry,
                                 max_scale=args.max_scale, store=args.store)
    if args.workers is None:  # one process holds the in-memory store; a shared store takes every core
        args.workers = 1 if settings.store == "memory" else os.cpu_count() or 1
    if args.workers > 1 and settings.store == "memory":
        print(f"sandbox: --workers {args.workers} needs a shared store: with the in-memory store each process "
              "would hold its own data (give --store redis://HOST:PORT, or serve with --workers 1)", file=sys.stderr)
        return 2
    try:
        socks = bind(args.host, args.port, args.workers)  # before the seconds of seeding: a taken port is said at once
    except PortInUse as error:
        print(f"sandbox: {error} (is another server using port {args.port}? choose one with --port)",
              file=sys.stderr)
        return 2
    sys.stdout.flush()
    return serve(settings, socks, f"http://{args.host}:{args.port}", threads=args.threads, workers=args.workers,
                 access_log=args.access_log)


if __name__ == "__main__":
    sys.exit(main())
