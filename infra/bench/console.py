"""The console as the bench runs it: `python -m infra.bench.console PORT_FILE`.

The real app (`web.create_app`, its Kafka feed consumer and SSE route) on werkzeug's threaded server, as
`listening-center web` serves it, but with login disabled so the bench can read the live feed without a
user, and on a free port written to PORT_FILE. It runs in its own process so the console's threads do not
share the bench process's interpreter lock with the producer it is timed against.
"""

from __future__ import annotations

import sys
from pathlib import Path

from werkzeug.serving import make_server

from infra.settings import Settings


def main(argv: list[str]) -> int:
    from web import create_app

    settings = Settings.from_env()
    app = create_app(settings, LOGIN_DISABLED=True, START_FEED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    tmp = Path(argv[0] + ".tmp")
    tmp.write_text(str(server.port))
    tmp.rename(argv[0])  # whole or absent: the bench never reads half a number
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
