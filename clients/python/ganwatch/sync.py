"""``python -m ganwatch sync``: uploads what a spool folder holds (runs recorded offline, and whatever a trainer left
unacknowledged when it died) to a ganwatch server, without Node. ``npm run sync`` reads the same folders."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field

from .errors import GanwatchError
from .sender import Sender
from .spool import Spool
from .transport import HttpClient, Servers, Unreachable, server_list


@dataclass
class SyncResult:
    key: str
    run: str | None = None
    created: bool = False
    outcome: str = "failed"  # synced | up-to-date | skipped | failed
    points: int = 0
    batches: int = 0
    uploads: int = 0
    errors: list = field(default_factory=list)

    def describe(self) -> str:
        name = f"{self.key} → {self.run}" if self.run and self.run != self.key else self.key
        what = f"{self.points} points in {self.batches} batches, {self.uploads} images and latent sets"
        if self.outcome == "up-to-date":
            return f"{name}: up to date"
        if self.outcome == "synced":
            return f"{name}: {'created run, ' if self.created else ''}uploaded {what}"
        if self.outcome == "skipped":
            return f"{name}: skipped: {'; '.join(self.errors)}"
        return f"{name}: FAILED ({what} pending): {'; '.join(self.errors)}"


def sync_run(spool_dir: str, key: str, servers: Servers, token: str | None, stall: float) -> SyncResult:
    """Uploads one spool folder; gives up (keeping what is left) after ``stall`` seconds without progress."""
    result = SyncResult(key)
    try:
        seen = Spool.open(spool_dir, key, read_only=True)
    except GanwatchError as err:
        result.errors.append(str(err))
        return result
    result.run, result.created = seen.server, seen.server is None
    frames = seen.pending_frames()
    result.points, result.batches = sum(f.points for f in frames), len(frames)
    result.uploads = len(seen.uploads)
    if not frames and not seen.uploads and seen.server is not None:
        result.outcome = "up-to-date"
        return result
    try:
        spool = Spool.open(spool_dir, key)
    except GanwatchError as err:
        result.outcome = "skipped" if "in use by" in err.message else "failed"
        result.errors.append(str(err))
        return result
    sender = Sender(spool, servers, token, offline=False, on_control=lambda control: None, poll_controls=False)
    mark, progress = None, time.monotonic()
    ok = False
    while not ok:
        ok = sender.flush(0.5)
        stats = sender.stats()
        now = (spool.server, stats["acked"], stats["rejected"], stats["unacked_batches"], stats["pending_uploads"])
        if now != mark:
            mark, progress = now, time.monotonic()
        elif time.monotonic() - progress > stall:
            break
    last_error = sender.stats()["last_error"]
    sender.close(1.0)
    result.run = spool.server
    if ok:
        result.outcome = "synced"
    else:
        if last_error:
            result.errors.append(last_error)
        result.errors.append(f"no progress for {stall:g} s; what is left stays in the spool")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganwatch sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--spool", default=".ganwatch-spool", help="the spool folder (ganwatch.init's spool=)")
    parser.add_argument(
        "--server",
        default=None,
        help="server address(es), comma-separated (default: $GANWATCH_SERVER or http://127.0.0.1:8080)",
    )
    parser.add_argument("--token", default=None, help="write token (default: $GANWATCH_TOKEN)")
    parser.add_argument(
        "--stall", type=float, default=30.0, help="give up on a run after this many seconds without progress"
    )
    parser.add_argument("runs", nargs="*", help="only these spool folders (default: all)")
    args = parser.parse_args(argv)
    try:
        servers = Servers(server_list(args.server))
    except GanwatchError as err:
        print(f"ganwatch sync: {err}", file=sys.stderr)
        return 2
    token = args.token if args.token is not None else (os.environ.get("GANWATCH_TOKEN") or None)
    probe = HttpClient(servers, token, timeout=5)
    try:
        probe.request("GET", "/health")
    except Unreachable as err:
        print(
            f"ganwatch sync: GW_ERR_SERVER: Server {err.url}: unreachable ({err.reason}); is it running?",
            file=sys.stderr,
        )
        return 2
    finally:
        probe.close()
    keys = args.runs or Spool.list(args.spool)
    if not keys:
        print(f"ganwatch sync: no runs in {args.spool}")
        return 0
    failed = 0
    for key in keys:
        result = sync_run(args.spool, key, servers, token, args.stall)
        print(result.describe())
        failed += result.outcome in ("failed", "skipped")
    return 1 if failed else 0
