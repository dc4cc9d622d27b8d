"""Test support: the real ganwatch server (Node, from this repository) as a child process on an ephemeral port with a
real SQLite file in a temporary folder, JSON over HTTP to it, and helpers that wait for what a process reports."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
CLIENT = HERE.parent
ROOT = CLIENT.parent.parent
# The tests import the client from this checkout (the pip-installed copy is tested by test_install).
if str(CLIENT) not in sys.path:
    sys.path.insert(0, str(CLIENT))
# Runs made by the tests (and the scripts they start) push no system metrics unless a test asks for them: a sample
# every 10 s would add points to the exact counts other tests check whenever a slow machine makes a run last longer.
os.environ.setdefault("GANWATCH_SYSTEM_METRICS", "0")
NODE = os.environ.get("NODE") or shutil.which("node") or "node"
# A busy 2-core machine can take many seconds to start a server or finish a request: generous bounds, never timing.
START_TIMEOUT_S = 180.0
WAIT_TIMEOUT_S = 120.0
WAIT = WAIT_TIMEOUT_S  # the bound tests give flush() and finish()

try:
    import numpy  # noqa: F401

    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False
try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


def temp_dir(prefix: str = "ganwatch-py-") -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


class Server:
    """One ganwatch server process. ``restart()`` starts it again on the same port and database."""

    def __init__(self, db: str | None = None, token: str | None = None, extra: tuple[str, ...] = ()) -> None:
        self.db = db or os.path.join(temp_dir(), "ganwatch.db")
        self.token = token
        self.extra = extra
        self.port = 0
        self.url = ""
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        atexit.register(self.kill)  # a test that fails before stopping its server leaves none running
        self.start()

    def _args(self) -> list[str]:
        args = [
            NODE,
            "--import",
            "tsx",
            str(ROOT / "server" / "main.ts"),
            "--host",
            "127.0.0.1",
            "--db",
            self.db,
            "--port",
            str(self.port),
            *self.extra,
        ]
        if self.token:
            args += ["--token", self.token]
        return args

    def start(self) -> None:
        env = {**os.environ, "GANWATCH_TOKEN": "", "GANWATCH_READ_TOKEN": "", "GANWATCH_PORT": "", "GANWATCH_DB": ""}
        for attempt in range(20):
            self.process = subprocess.Popen(
                self._args(), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            url = self._read_url(self.process)
            if url:
                self.url = url
                self.port = int(url.rsplit(":", 1)[1])
                return
            if "EADDRINUSE" not in "".join(self.output[-5:]) or attempt == 19:
                raise RuntimeError("the ganwatch server did not start:\n" + "".join(self.output[-40:]))
            time.sleep(0.2)  # the port may linger briefly after a kill

    def _read_url(self, process: subprocess.Popen) -> str | None:
        found: dict[str, str] = {}
        ready = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:  # keeps draining after start-up, so the pipe never fills
                self.output.append(line)
                if "listening on " in line and "url" not in found:
                    found["url"] = line.split("listening on ", 1)[1].split()[0]
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        ready.wait(START_TIMEOUT_S)
        return found.get("url")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)
        self._close_pipe()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(60)
        self._close_pipe()

    def _close_pipe(self) -> None:
        if self.process and self.process.stdout:
            try:
                self.process.stdout.close()
            except (OSError, ValueError):  # the reader thread may be mid-read
                pass

    def restart(self) -> None:
        self.kill()
        self.start()

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        return api(self.url, method, path, body, token if token is not None else self.token)


def api(url: str, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """JSON over HTTP: (status, parsed body)."""
    data = None
    headers = {}
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + "/api/v1" + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=WAIT_TIMEOUT_S) as res:
            raw = res.read()
            status = res.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw


_shared: Server | None = None


def shared_server() -> Server:
    """One server for the tests that do not stop or restart theirs."""
    global _shared
    if _shared is None:
        _shared = Server()
        atexit.register(_shared.stop)
    return _shared


def until(check: Callable[[], Any], what: str, timeout: float = WAIT_TIMEOUT_S) -> Any:
    """Waits until ``check()`` returns something truthy (a state the server or a process reports) and returns it.
    The timeout only bounds a failure; it is never what a test measures."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def export_points(server: Server, run_id: str) -> dict[tuple[str, int], Any]:
    """Every stored value of a run: {(metric, step): value}, failing if a (metric, step) appears twice."""
    status, body = server.api("GET", f"/runs/{run_id}/export?format=json")
    assert status == 200, body
    out: dict[tuple[str, int], Any] = {}
    for point in body["points"]:
        key = (point["metric"], point["step"])
        assert key not in out, f"{key} stored twice"
        out[key] = point["value"]
    return out


def python_child(code: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    """A Python process running ``code`` with this client importable; its stdout lines are its reports."""
    full_env = {**os.environ, "PYTHONPATH": str(CLIENT), "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=full_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def tell(child: subprocess.Popen, line: str = "") -> None:
    """Lets a child waiting on input() go on."""
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


def read_report(child: subprocess.Popen, prefix: str) -> str:
    """The rest of the first line the child prints that starts with ``prefix`` (its stderr if it dies first)."""
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    err = child.stderr.read() if child.stderr else ""
    raise AssertionError(f"the child exited without reporting {prefix!r}:\n{err}")


def end_child(child: subprocess.Popen, kill: bool = False) -> str:
    """Waits for (or kills) a child and closes its pipes; returns what it wrote on stderr."""
    if kill and child.poll() is None:
        child.kill()
    if child.stdin:
        try:
            child.stdin.close()
        except OSError:  # the child is gone: its end of the pipe is closed
            pass
        child.stdin = None
    _, err = child.communicate(timeout=WAIT_TIMEOUT_S)
    return err or ""


def needs_torch(test: Any) -> Any:
    return unittest.skipUnless(HAVE_TORCH, "PyTorch is not installed (apt-get install python3-torch)")(test)


def needs_numpy(test: Any) -> Any:
    return unittest.skipUnless(HAVE_NUMPY, "numpy is not installed (apt-get install python3-numpy)")(test)
