"""Runs moto's server with the project's extension: `python dev/aws/server.py [--host H] [--port P]`.

Settings come from the environment (AWS_EMULATOR_TIME_SCALE, AWS_EMULATOR_NOTIFICATION_FORMAT); a bad
value stops the server at start with a message naming the variable.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from types import FrameType

from werkzeug.serving import run_simple

from tnth_emulator import install
from tnth_emulator.admin import AdminMiddleware
from tnth_emulator.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ValueError as error:
        print(f"aws emulator: {error}", file=sys.stderr)
        return 2
    # moto writes this port into the queue URLs it hands out.
    os.environ["MOTO_PORT"] = str(args.port)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    from tnth_emulator import expiry

    emulator = install(settings)
    expiry.start(emulator)
    app = AdminMiddleware(DomainDispatcherApplication(create_backend_app))

    def stop(signum: int, frame: FrameType | None) -> None:
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # One line per request would bury the errors that matter in the stack's log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(
        f"aws emulator: moto with the tnth extension on http://{args.host}:{args.port} "
        f"(time scale {settings.time_scale}, {settings.notification_format} notifications)",
        file=sys.stderr,
        flush=True,
    )
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
