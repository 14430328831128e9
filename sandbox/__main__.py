"""Command line: ``sandbox serve``."""
from __future__ import annotations

import argparse
import sys

from .settings import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sandbox", description="Stateful API sandbox served from OpenAPI specs.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve every API (one process)",
                                description="Serve every API from one process; state is in memory and "
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
    serve.add_argument("--threads", type=int, default=4, metavar="N",
                       help="threads running requests (default 4); slow clients never hold one")
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from . import create_app
    from .server import PortInUse, bind, serve

    if args.seed is not None and args.seed < 0 or args.scale is not None and args.scale < 1 or args.threads < 1:
        print("sandbox: --seed must be >= 0, --scale >= 1 and --threads >= 1", file=sys.stderr)
        return 2
    try:
        sock = bind(args.host, args.port)  # before the seconds of seeding: a taken port is said at once
    except PortInUse as error:
        print(f"sandbox: {error} (is another server using port {args.port}? choose one with --port)",
              file=sys.stderr)
        return 2
    settings = Settings.from_env(seed=args.seed, scale=args.scale, token=args.token, client_id=args.client_id,
                                 client_secret=args.client_secret, validate=args.validate, strict=args.strict,
                                 fixtures=args.fixtures)
    from .engine.errors import ApiError
    from .engine.spec import SpecError

    try:
        app = create_app(settings)
    except (ApiError, SpecError, OSError) as error:
        sock.close()
        print(f"sandbox: cannot start: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    base = f"http://{args.host}:{args.port}"
    print(f"sandbox: serving on {base} (seed {settings.seed}, scale {settings.scale})")
    for api in app.extensions["sandbox"]["apis"]:
        print(f"  {api.name:<11} {base}{api.prefix}")
    print(f"  bearer token   {settings.token}")
    print(f"  OAuth2 client  {settings.client_id} / {settings.client_secret}"
          f"  (POST {base}/payments/oauth/token)")
    sys.stdout.flush()
    serve(app, sock, threads=args.threads, access_log=args.access_log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
