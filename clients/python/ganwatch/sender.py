"""The background half of a run: batches points into frames, keeps every frame and upload in the spool until the
server acknowledges it (HTTP 2xx comes after the SQLite commit), sends them in order from a thread of its own, and
long-polls the server for controls from a second thread. Training never waits for any of it: log() only appends to
a list. After an outage, a failover to another address or a restart from the spool, everything unacknowledged is sent
again; the server upserts points by (run, metric, step), so at-least-once delivery stores each exactly once."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from .errors import GanwatchError, server_error_of
from .spool import Spool, SpooledFrame
from .transport import FAILOVER_STATUSES, HttpClient, Response, Servers, Unreachable, run_path
from .wire import MAX_BODY_BYTES, MAX_DISTRIBUTIONS_PER_BATCH, dumps

log = logging.getLogger("ganwatch")

FRAME_ENVELOPE_BYTES = 64
BACKOFF_BASE_S = 0.1
BACKOFF_CAP_S = 5.0
# Server answers that may succeed later: the item stays queued and is tried again.
RETRY_STATUSES = frozenset((401, 404, 408, 425, 429, 500, 502, 503, 504))


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter: half the capped delay fixed, half random."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(attempt, 20))
    return ceiling / 2 + random.random() * ceiling / 2


@dataclass
class Pending:
    frame: SpooledFrame
    text: str | None  # None: re-read it from the spool
    spooled: bool


class Retry(Exception):
    """The server answered, but not yet usefully (5xx, 429, a token problem): try the same item again later."""


class Sender:
    def __init__(
        self,
        spool: Spool,
        servers: Servers,
        token: str | None,
        offline: bool,
        on_control: Callable[[dict], None],
        flush_interval: float = 0.2,
        max_batch_points: int = 2000,
        memory_cap: int = 64 * 1024 * 1024,
        compact_bytes: int = 4 * 1024 * 1024,
        poll_wait: float = 20.0,
        poll_controls: bool = True,
    ) -> None:
        self.spool = spool
        self.servers = servers
        self.offline = offline
        self._token = token
        self._on_control = on_control
        self._flush_interval = flush_interval
        self._max_batch = max(1, min(10_000, int(max_batch_points)))
        self._memory_cap = memory_cap
        self._compact_bytes = compact_bytes
        self._poll_wait = poll_wait

        self._buffer: list[str] = []
        self._buffer_bytes = 0
        self._histograms: list[str] = []
        self._buffer_lock = threading.Lock()
        self._cut_lock = threading.Lock()

        self._state = threading.RLock()
        self._pending: dict[int, Pending] = {}
        self._memory = 0
        self._results: deque[tuple[int, dict]] = deque()
        self._patches: deque[dict] = deque()
        self.pushed = 0
        self.acked = 0
        self.rejected = 0
        self.connected = False
        self.last_error: str | None = None
        self._outage_reported = False

        self._wake = threading.Condition(self._state)
        self._retry_now = threading.Event()
        self._stopping = False
        self._closed = False

        for frame in spool.pending_frames():
            self._pending[frame.seq] = Pending(frame, None, True)

        self._http = HttpClient(servers, token)
        self._poll_http = HttpClient(servers, token, timeout=poll_wait + 15)
        self._sender = threading.Thread(target=self._send_loop, name="ganwatch-sender", daemon=True)
        self._sender.start()
        self._poller: threading.Thread | None = None
        if not offline and poll_controls:
            self._poller = threading.Thread(target=self._poll_loop, name="ganwatch-controls", daemon=True)
            self._poller.start()

    # ------------------------------------------------------------ the training thread's side

    def push(self, point_text: str) -> None:
        """Queues one point's JSON text; cuts a frame when the buffer is full (the timer cuts the rest)."""
        size = len(point_text) + 1
        with self._buffer_lock:
            self._buffer.append(point_text)
            self._buffer_bytes += size
            self.pushed += 1
            full = len(self._buffer) >= self._max_batch or self._buffer_bytes + FRAME_ENVELOPE_BYTES > MAX_BODY_BYTES
        if full:
            self.cut()

    def push_distribution(self, text: str) -> None:
        """Queues one histogram's JSON text; it goes out in the next cut, in frames of its own."""
        with self._buffer_lock:
            self._histograms.append(text)
            full = len(self._histograms) >= MAX_DISTRIBUTIONS_PER_BATCH
        if full:
            self.cut()

    def push_status(self, status: str) -> None:
        """Queues a status change after every point pushed before it."""
        self.cut()
        seq = self.spool.take_seq()
        self._enqueue(seq, "status", 0, dumps({"type": "status", "seq": seq, "status": status}))

    def push_upload(self, upload: dict, payload: bytes) -> None:
        self.spool.append_upload(upload, payload)
        self._notify()

    def post_result(self, control_id: int, body: dict) -> None:
        with self._state:
            self._results.append((control_id, body))
            self._wake.notify_all()

    def patch_run(self, fields: dict) -> None:
        """Queues a PATCH of the run (config, notes): kept in memory and retried until the server takes it."""
        with self._state:
            self._patches.append(fields)
            self._wake.notify_all()

    def cut(self) -> None:
        """Turns the point buffer into frames of at most max_batch points and 4 MiB each: spooled, then queued."""
        with self._cut_lock:
            with self._buffer_lock:
                points, self._buffer, self._buffer_bytes = self._buffer, [], 0
                histograms, self._histograms = self._histograms, []
            self._cut_frames("points", points, self._max_batch)
            self._cut_frames("distributions", histograms, MAX_DISTRIBUTIONS_PER_BATCH)

    def _cut_frames(self, kind: str, items: list[str], most: int) -> None:
        start = 0
        while start < len(items):
            end, size = start, FRAME_ENVELOPE_BYTES
            while end < len(items) and end - start < most and size + len(items[end]) + 1 <= MAX_BODY_BYTES:
                size += len(items[end]) + 1
                end += 1
            end = max(end, start + 1)
            seq = self.spool.take_seq()
            text = f'{{"type":"{kind}","seq":{seq},"{kind}":[{",".join(items[start:end])}]}}'
            # A distributions frame counts no points: acked and rejected stay counts of points.
            self._enqueue(seq, kind, end - start if kind == "points" else 0, text)
            start = end

    def settled(self) -> bool:
        with self._state:
            return (
                not self._buffer
                and not self._histograms
                and not self._pending
                and not self.spool.uploads
                and not self._results
                and not self._patches
            )

    def flush(self, timeout: float) -> bool:
        """Cuts the buffer and waits up to ``timeout`` s until everything so far is acknowledged (or refused for good).
        Offline, or with timeout 0, returns once it is on disk."""
        self.cut()
        self._sync_spool()
        if self.offline or timeout <= 0:
            return self.offline or self.settled()
        self._retry_now.set()
        with self._state:
            self._wake.notify_all()
            return self._wake.wait_for(self.settled, timeout)

    def close(self, timeout: float) -> bool:
        """Flushes (up to ``timeout`` s), stops both threads and closes the spool. What is still unacknowledged stays
        in the spool for ``resume=`` or ``python -m ganwatch sync``. Returns the flush result."""
        ok = self.flush(timeout)
        with self._state:
            self._stopping = True
            self._wake.notify_all()
        self._retry_now.set()
        for thread, http in ((self._sender, self._http), (self._poller, self._poll_http)):
            for _ in range(50):  # a request may start just after an abort: abort again until the thread is out
                if thread is None or not thread.is_alive():
                    break
                http.abort()
                thread.join(0.1)
        with self._state:
            self._closed = True
        self._http.close()
        self._poll_http.close()
        try:
            if self.settled():
                self.spool.compact()
        except OSError as err:
            self._report(GanwatchError("GW_ERR_SPOOL", f"Spool folder '{self.spool.dir}': compaction failed: {err}"))
        self.spool.close()
        return ok

    def stats(self) -> dict:
        with self._state:
            return {
                "pushed": self.pushed,
                "acked": self.acked,
                "rejected": self.rejected,
                "buffered_points": len(self._buffer),
                "unacked_batches": len(self._pending),
                "pending_uploads": len(self.spool.uploads),
                "spool_bytes": self.spool.bytes,
                "connected": self.connected,
                "server": self.servers.current,
                "failovers": self.servers.failovers,
                "last_error": self.last_error,
            }

    # ------------------------------------------------------------ frames and the spool

    def _enqueue(self, seq: int, kind: str, points: int, text: str) -> None:
        spooled = True
        try:
            frame = self.spool.append_frame(seq, kind, points, text)
        except (OSError, GanwatchError) as err:
            # A full or failing disk must not stop training: keep the frame in memory only.
            spooled = False
            frame = SpooledFrame(seq, kind, points, -1, len(text))
            self._report(GanwatchError("GW_ERR_SPOOL", f"Spool folder '{self.spool.dir}': cannot append: {err}"))
        with self._state:
            keep = not spooled or (not self.offline and self._memory + len(text) <= self._memory_cap)
            if keep:
                self._memory += len(text)
            self._pending[seq] = Pending(frame, text if keep else None, spooled)
            self._wake.notify_all()

    def _notify(self) -> None:
        with self._state:
            self._wake.notify_all()

    def _sync_spool(self) -> None:
        try:
            if not self._closed:
                self.spool.sync()
        except OSError as err:
            self._report(GanwatchError("GW_ERR_SPOOL", f"Spool folder '{self.spool.dir}': fdatasync failed: {err}"))

    def _settle(self, seq: int, ok: bool, code: str = "", message: str = "") -> None:
        with self._state:
            entry = self._pending.pop(seq, None)
            if entry is None:
                return
            if entry.text is not None:
                self._memory -= len(entry.text)
            if ok:
                self.acked += entry.frame.points
            else:
                self.rejected += entry.frame.points
            self._wake.notify_all()
        if entry.spooled:
            try:
                if ok:
                    self.spool.append_ack([seq])
                else:
                    self.spool.append_reject(seq, code, message)
            except (OSError, GanwatchError) as err:
                self._report(
                    GanwatchError("GW_ERR_SPOOL", f"Spool folder '{self.spool.dir}': cannot record an ack: {err}")
                )

    # ------------------------------------------------------------ the sender thread

    def _send_loop(self) -> None:
        attempt = 0
        while True:
            with self._state:
                if self._stopping:
                    return
            self.cut()
            if self.offline:
                with self._state:
                    self._wake.wait(self._flush_interval)
                continue
            try:
                busy = self._send_round()
                if busy:
                    self._recovered()
                attempt = 0
            except Unreachable as err:
                attempt += 1
                self._outage(f"{err}; keeping everything in the spool, will send it again")
                if self.servers.failed(err.url) and attempt < len(self.servers.urls):
                    continue
                self._sleep(backoff_delay(attempt))
                continue
            except Retry:
                attempt += 1
                self._sleep(backoff_delay(attempt))
                continue
            if not busy:
                with self._state:
                    if not (self._stopping or self._results or self._patches or self._pending):
                        self._wake.wait(self._flush_interval)

    def _sleep(self, seconds: float) -> None:
        self._retry_now.wait(seconds)
        self._retry_now.clear()

    def _send_round(self) -> bool:
        """Sends what is queued: control results, run patches, frames in seq order, then uploads. Returns whether
        anything was sent. Raises Unreachable or Retry and leaves the item queued."""
        run_id = self._run_id()
        if run_id is None:
            return False
        busy = False
        while True:
            with self._state:
                if self._stopping or not self._results:
                    break
                control_id, body = self._results[0]
            self._send_result(run_id, control_id, body)
            with self._state:
                self._results.popleft()
            busy = True
        while True:
            with self._state:
                if self._stopping or not self._patches:
                    break
                fields = self._patches[0]
            self._send_patch(run_id, fields)
            with self._state:
                self._patches.popleft()
            busy = True
        with self._state:
            seqs = sorted(self._pending)
        for seq in seqs:
            with self._state:
                if self._stopping:
                    return busy
                entry = self._pending.get(seq)
            if entry is not None:
                self._send_frame(run_id, seq, entry)
                busy = True
        for upload in self.spool.pending_uploads():
            with self._state:
                if self._stopping or self._results:
                    return True  # answer controls first: an upload can take a while
            self._send_upload(run_id, upload)
            busy = True
        self._maybe_compact()
        return busy

    def _run_id(self) -> str | None:
        """The run's server id, creating the run first when it was made offline."""
        if self.spool.server is not None:
            return self.spool.server
        create = self.spool.create or {"name": self.spool.key}
        res = self._http.json("POST", "/runs", create, timeout=10)
        if not res.ok:
            self._refused(res, "creating the run")
        run = res.json()
        self.spool.bind(run["id"])
        log.info("ganwatch: run %s created on %s from the offline spool %s", run["id"], res.url, self.spool.key)
        return run["id"]

    def _send_frame(self, run_id: str, seq: int, entry: Pending) -> None:
        text = entry.text
        if text is None:
            try:
                text = self.spool.read_frame(entry.frame)
            except (OSError, GanwatchError) as err:
                self._report(GanwatchError("GW_ERR_SPOOL", f"cannot re-read batch {seq}: {err}"))
                self._settle(seq, False, "GW_ERR_SPOOL", str(err))
                return
        kind = entry.frame.kind
        if kind in ("points", "distributions"):
            # The frame's array, as the body of the HTTP route of the same name.
            at = text.find(f'"{kind}":')
            body = ("{" + text[at:-1] + "}").encode("utf-8")
            res = self._http.request("POST", run_path(run_id, f"/{kind}"), body)
        else:
            status = text[text.find('"status":') :]
            res = self._http.request("PATCH", run_path(run_id), ("{" + status).encode("utf-8"))
        if res.ok:
            self._settle(seq, True)
            return
        code, detail = self._refused(res, f"batch {seq}", final=True)
        self._report(server_error_of(code, f"batch {seq} refused: {detail}"))
        self._settle(seq, False, code or "GW_ERR_SERVER", detail)

    def _send_upload(self, run_id: str, upload: dict) -> None:
        try:
            payload = self.spool.read_upload_payload(upload)
        except OSError as err:
            self.spool.append_upload_done(upload["id"], False, "GW_ERR_SPOOL", f"payload file lost: {err}")
            return
        if upload["kind"] == "media":
            query = {"epoch": upload["epoch"], "step": upload["step"], "kind": upload["mediaKind"]}
            if upload.get("meta") is not None:
                query["meta"] = upload["meta"]
            res = self._http.request("POST", run_path(run_id, "/media", query), payload, "image/png")
        else:
            res = self._http.request("POST", run_path(run_id, "/latents"), payload)
        if res.ok:
            self.spool.append_upload_done(upload["id"], True)
            self._notify()
            return
        code, detail = self._refused(res, f"{upload['kind']} upload", final=True)
        self._report(server_error_of(code, f"{upload['kind']} upload (epoch {upload.get('epoch')}) refused: {detail}"))
        self.spool.append_upload_done(upload["id"], False, code or "GW_ERR_SERVER", detail)
        self._notify()

    def _send_result(self, run_id: str, control_id: int, body: dict) -> None:
        res = self._http.json("POST", run_path(run_id, f"/controls/{control_id}/result"), body)
        if not res.ok:
            code, detail = self._refused(res, f"the answer to control {control_id}", final=True, retry_404=False)
            self._report(server_error_of(code, f"the answer to control {control_id} was refused: {detail}"))

    def _send_patch(self, run_id: str, fields: dict) -> None:
        res = self._http.json("PATCH", run_path(run_id), fields)
        if not res.ok:
            code, detail = self._refused(res, "updating the run", final=True)
            self._report(server_error_of(code, f"updating the run was refused: {detail}"))

    def _refused(self, res: Response, what: str, final: bool = False, retry_404: bool = True) -> tuple[str | None, str]:
        """Sorts a non-2xx answer: raises Unreachable (fail over) or Retry (try again later); returns the error for
        an answer that will never change (the item is then settled as refused)."""
        code, detail = res.error()
        if res.status in FAILOVER_STATUSES:
            raise Unreachable(res.url, detail)
        # A run the server does not know may be on another address (or on this one after it is restored): keep it.
        if res.status in RETRY_STATUSES and (res.status != 404 or (retry_404 and code == "GW_ERR_RUN_NOT_FOUND")):
            self._outage(f"{res.url}: {what}: {detail}")
            if res.status == 404 and self.servers.failed(res.url):
                raise Unreachable(res.url, detail)
            raise Retry()
        if not final:
            self._report(server_error_of(code, f"{what} was refused: {detail}; trying again"))
            raise Retry()
        return code, detail

    def _maybe_compact(self) -> None:
        if self.spool.bytes < self._compact_bytes or not self.settled():
            return
        try:
            self.spool.compact()
        except OSError as err:
            self._report(GanwatchError("GW_ERR_SPOOL", f"Spool folder '{self.spool.dir}': compaction failed: {err}"))

    # ------------------------------------------------------------ the control poller thread

    def _poll_loop(self) -> None:
        after = 0
        attempt = 0
        while True:
            with self._state:
                if self._stopping:
                    return
            run_id = self.spool.server
            if run_id is None:  # made offline: the sender creates it on the server first
                self._retry_now.wait(0.2)
                continue
            query = {"after": after, "wait": self._poll_wait}
            try:
                res = self._poll_http.request("GET", run_path(run_id, "/controls/next", query))
            except Unreachable as err:
                with self._state:
                    if self._stopping:
                        return
                attempt += 1
                if not (self.servers.failed(err.url) and attempt < len(self.servers.urls)):
                    self._stop_aware_sleep(backoff_delay(attempt))
                continue
            if not res.ok:
                attempt += 1
                if res.status in FAILOVER_STATUSES:
                    self.servers.failed(res.url)
                else:
                    code, detail = res.error()
                    self._report(server_error_of(code, f"polling for controls: {detail}"))
                self._stop_aware_sleep(backoff_delay(attempt))
                continue
            attempt = 0
            for control in (res.json() or {}).get("controls", []):
                if isinstance(control, dict) and isinstance(control.get("id"), int) and control["id"] > after:
                    after = control["id"]
                    self._on_control(control)

    def _stop_aware_sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._state:
            while not self._stopping and time.monotonic() < deadline:
                self._wake.wait(deadline - time.monotonic())

    # ------------------------------------------------------------ reporting

    def _outage(self, message: str) -> None:
        with self._state:
            self.connected = False
            self.last_error = f"GW_ERR_SERVER: {message}"
            first = not self._outage_reported
            self._outage_reported = True
        if first:
            log.warning("ganwatch: %s", message)

    def _recovered(self) -> None:
        with self._state:
            was_out = self._outage_reported
            self.connected = True
            self._outage_reported = False
        if was_out:
            log.warning("ganwatch: %s answers again; sending what was kept", self.servers.current)

    def _report(self, error: GanwatchError) -> None:
        """Records a problem the client survives; logs it unless it repeats the last one (a retry loop)."""
        with self._state:
            repeated = self.last_error == str(error)
            self.last_error = str(error)
        if not repeated:
            log.warning("ganwatch: %s", error)
