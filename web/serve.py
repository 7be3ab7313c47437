"""`listening-center web`: the console on a threaded server, since every open queue holds one SSE stream."""

from __future__ import annotations

import argparse

from werkzeug.serving import make_server

from infra.settings import Settings


def main(argv: list[str]) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="listening-center web", description="run the Flask console")
    parser.add_argument("--host", default=settings.web_host)
    parser.add_argument("--port", type=int, default=settings.web_port)
    args = parser.parse_args(argv)
    from infra import logs

    logs.configure(settings, "web")

    from web import create_app

    app = create_app(settings)
    # threaded: one thread per connection, so long-lived event streams never block page loads.
    server = make_server(args.host, args.port, app, threaded=True)
    print(f"console: http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
