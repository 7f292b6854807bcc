"""Command line: `python3 -m sandbox [--port 8765] [--db PATH] [--speed 60] ...` serves the emulated API."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Callable, List, Optional

from sandbox.accounts import make_account
from sandbox.server import SandboxApp, make_server
from sandbox.simulation import Simulation
from sandbox.store import Store, default_db_path
from sandbox.timefmt import parse_time


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8765, help="TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--db", default=None, help='SQLite file (default in the user cache folder; ":memory:")')
    parser.add_argument("--speed", type=float, default=60.0,
                        help="simulated seconds per real second (0: time moves only via POST /sandbox/clock)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the simulation (deterministic runs)")
    parser.add_argument("--api-key", action="append", dest="api_keys", default=None,
                        help='accepted API key, repeatable (default: one key, "sandbox")')
    parser.add_argument("--free-cancellations", type=int, default=5,
                        help="free assured cancellations per contract and UTC day")
    parser.add_argument("--max-sqkm", type=float, default=3000.0, help="largest order area of a contract, km2")
    parser.add_argument("--start", default=os.environ.get("SANDBOX_START"),
                        help="simulated time of a new database, ISO 8601 (default: now; env SANDBOX_START)")
    parser.add_argument("--demo", action="store_true", help="start with demo orders and captures (empty db only)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="stop when stdin reaches its end: the process that started us holds it open, so "
                             "EOF means it is gone (the plugin's watchdog; any OS)")
    return parser.parse_args(argv)


def watch_parent(stop: Callable[[], None]) -> None:
    """Read stdin to its end, then stop the server.

    The parent (QGIS) holds the other end of the pipe; when it exits, however it exits (even killed),
    the OS closes that end and the read returns EOF. Works on Windows, macOS and Linux alike, unlike a
    parent-death signal, and needs no polling of a parent pid that could be reused.
    """
    stream = sys.stdin.buffer if sys.stdin is not None else None
    try:
        while stream is not None and stream.read(4096):
            pass  # the parent sends nothing; anything it might send is ignored
    except (OSError, ValueError):
        pass
    stop()
    try:
        print("Sandbox: the process that started it is gone; stopping", flush=True)
    except (OSError, ValueError):
        pass  # its output pipe went with it


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    keys = args.api_keys or ["sandbox"]
    accounts = [make_account(k, free_cancellations=args.free_cancellations, max_sqkm=args.max_sqkm) for k in keys]
    start = None
    if args.start:
        start = parse_time(args.start)
        if start is None:
            print(f"--start: not an ISO 8601 date-time: {args.start}", file=sys.stderr)
            return 2
    store = Store(args.db or default_db_path())
    sim = Simulation(store=store, accounts=accounts, speed=args.speed, seed=args.seed, start=start)
    app = SandboxApp(sim)
    if args.demo:
        with sim.lock:
            app.seed_demo()
    server = make_server(app, args.host, args.port)
    host, port = server.server_address[:2]
    app.start_ticker()

    def stop(*_: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    if args.exit_on_stdin_eof:
        threading.Thread(target=watch_parent, args=(stop,), name="parent-watchdog", daemon=True).start()
    print(f"Sandbox listening on http://{args.host if args.host else host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
