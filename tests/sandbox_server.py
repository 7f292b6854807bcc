"""The sandbox as a local process for tests and benches: start it on a free loopback port, drive its clock and faults.

No pytest here, so a bench can start a sandbox without loading the test framework into the QGIS it measures."""

from __future__ import annotations

import atexit
import json
import subprocess
import sys
import threading
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
# The two accounts every test sandbox knows: separate organisations, used to prove isolation.
SANDBOX_KEY = "sandbox"
OTHER_KEY = "other-org"


class SandboxServer:
    """A `python3 -m sandbox` process, with helpers for its loopback-only /sandbox/ control endpoints."""

    def __init__(self, extra_args: Optional[List[str]] = None):
        self.api_key = SANDBOX_KEY
        self.other_key = OTHER_KEY
        args = [
            sys.executable, "-m", "sandbox",
            "--port", "0", "--db", ":memory:", "--speed", "0", "--seed", "1",
            "--api-key", SANDBOX_KEY, "--api-key", OTHER_KEY,
        ] + list(extra_args or [])
        self.process = subprocess.Popen(
            args, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: List[str] = []
        self.root = self._wait_ready()
        # Keep draining the server's output so a chatty server never blocks on a full pipe.
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        # A script that dies before stop() (a bench or probe that raised) would leave the sandbox running.
        atexit.register(self.stop)

    @classmethod
    def attached(cls, root: str, api_key: str = SANDBOX_KEY) -> "SandboxServer":
        """A handle on a sandbox another process started (its `root` address): the same helpers, no process to stop."""
        server = cls.__new__(cls)
        server.api_key, server.other_key, server.root = api_key, OTHER_KEY, root
        server.process, server.output = None, []
        return server

    def _wait_ready(self) -> str:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("Sandbox listening on "):
                return line.split("Sandbox listening on ", 1)[1].strip().rstrip("/")
        raise RuntimeError("sandbox did not start:\n" + "".join(self.output))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def tasking_url(self) -> str:
        """Base URL of the emulated Planet Tasking API v2, with its trailing slash."""
        return self.root + "/tasking/v2/"

    def control(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.root + "/sandbox/" + path.lstrip("/"), data=data, method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def reset(self) -> None:
        self.control("POST", "reset", {})

    def advance(self, seconds: float) -> Dict[str, Any]:
        return self.control("POST", "clock", {"advance_seconds": seconds})

    def clock(self) -> Dict[str, Any]:
        return self.control("GET", "clock")

    def sleep(self, seconds: float) -> None:
        """Stands in for time.sleep in a client: moves the simulated clock instead of waiting."""
        if seconds > 0:
            self.advance(seconds)

    def now(self) -> datetime:
        """The sandbox's simulated time (it starts at the real time and moves only when a test moves it)."""
        return datetime.fromisoformat(self.clock()["now"].replace("Z", "+00:00"))

    def fault(self, **spec: Any) -> Dict[str, Any]:
        return self.control("POST", "faults", spec)

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def requests_seen(self) -> List[Dict[str, Any]]:
        """The API requests (not control ones) the sandbox received since the last reset."""
        return self.control("GET", "requests")["requests"]

    def stop(self) -> None:
        if self.process is None:
            return  # attached: its owner stops it
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._drainer.join(timeout=5)  # it has read the end of the output: the pipe can be closed
        if self.process.stdout is not None:
            self.process.stdout.close()
