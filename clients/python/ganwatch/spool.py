"""The on-disk spool: one folder per run holding an append-only log of everything not yet acknowledged by the server
(point, distribution and status frames, image and latent uploads) and the marks that settle them. A trainer crash, a
server restart or a long outage loses nothing: whatever is unsettled on disk is sent again.

The format is the Node monitor client's (clients/node/spool.ts), so either client, ``npm run sync`` and
``python -m ganwatch sync`` read any spool folder:

  <spool>/<key>/log.jsonl   one JSON record per line. Frame records are the exact ingest frame text
                            ({"type":"points",...}, {"type":"distributions",...} or {"type":"status",...});
                            bookkeeping records carry a "t" field.
  <spool>/<key>/u-<id>.png|.json   upload payloads, written before their record.
  <spool>/<key>/lock        the pid of the process using the folder.

Each record is one write, so a crash tears at most the last line; a torn last line is cut off on open and a line that
does not parse is skipped. When nothing is pending, compact() rewrites the log as one header line."""

from __future__ import annotations

import errno
import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable

from .errors import SpoolError

LOG = "log.jsonl"
LOCK = "lock"
PAYLOAD_FILE = re.compile(r"^u-\d+\.(png|json)$")
_locked_here: set[str] = set()
_locked_here_guard = threading.Lock()


@dataclass
class SpooledFrame:
    """A point or status frame not yet acknowledged; its text lies in the log at [offset, offset + length)."""

    seq: int
    kind: str
    points: int
    offset: int
    length: int


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2**53 - 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on directories; the rename itself is still atomic
    finally:
        os.close(fd)


class Spool:
    """One run's spool folder. Thread-safe: the training thread appends uploads while the sender appends acks."""

    def __init__(self, folder: str, header: dict) -> None:
        self.dir = folder
        self.key: str = header["key"]
        self.server: str | None = header.get("server")
        self.create: dict | None = header.get("create")
        self.created_at: float = header.get("createdAt", 0)
        self._seq: int = header.get("nextSeq", 0)
        self._upload: int = header.get("nextUpload", 1)
        self.frames: dict[int, SpooledFrame] = {}
        self.uploads: dict[int, dict] = {}
        self.corrupt_lines = 0
        self.torn_bytes = 0
        self._fd = -1
        self._size = 0
        self._locked = False
        self._closed = False
        self._guard = threading.RLock()

    # ------------------------------------------------------------ folders

    @staticmethod
    def list(spool_dir: str) -> list[str]:
        """Folder names under ``spool_dir`` that hold a run log."""
        if not os.path.isdir(spool_dir):
            return []
        return sorted(name for name in os.listdir(spool_dir) if os.path.isfile(os.path.join(spool_dir, name, LOG)))

    @staticmethod
    def find(spool_dir: str, run_id: str) -> str | None:
        """The folder whose run is ``run_id``: the folder of that name, or one made offline and later bound to it."""
        if os.path.isfile(os.path.join(spool_dir, run_id, LOG)):
            return run_id
        for key in Spool.list(spool_dir):
            try:
                spool = Spool.open(spool_dir, key, read_only=True)
            except SpoolError:
                continue
            if spool.server == run_id:
                return key
        return None

    @classmethod
    def create(cls, spool_dir: str, key: str, server: str | None, create: dict | None, created_at: float) -> Spool:
        """Starts a new run folder (fails if it already holds a log)."""
        folder = os.path.join(spool_dir, key)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise SpoolError(folder, f"cannot create the folder: {err.strerror or err}") from None
        if os.path.exists(os.path.join(folder, LOG)):
            raise SpoolError(folder, "a run log already exists here")
        header = {
            "t": "run",
            "v": 1,
            "key": key,
            "server": server,
            "create": create,
            "createdAt": created_at,
            "nextSeq": 0,
            "nextUpload": 1,
        }
        spool = cls(folder, header)
        spool._lock_for_writing("cannot write the run log", lambda: spool._write_header_file(header))
        return spool

    @classmethod
    def open(cls, spool_dir: str, key: str, read_only: bool = False) -> Spool:
        """Opens an existing folder and replays its log. ``read_only`` neither locks nor repairs (for inspection)."""
        folder = os.path.join(spool_dir, key)
        path = os.path.join(folder, LOG)
        spool: Spool | None = None
        corrupt = 0
        offset = 0
        torn = 0
        try:
            with open(path, "rb") as file:
                for raw in file:  # line by line: a spool after a long outage can be large
                    start = offset
                    offset += len(raw)
                    if not raw.endswith(b"\n"):
                        torn = len(raw)
                        break
                    line = raw[:-1]
                    try:
                        record = json.loads(line)
                    except ValueError:
                        corrupt += 1
                        continue
                    if not isinstance(record, dict):
                        corrupt += 1
                        continue
                    if spool is None:
                        spool = cls._from_header(folder, record)
                        if spool is None:
                            corrupt += 1
                        continue
                    if not spool._apply(record, start, len(line)):
                        corrupt += 1
        except OSError as err:
            raise SpoolError(folder, f"no readable run log here ({err.strerror or err})") from None
        end = offset - torn
        if spool is None:
            raise SpoolError(folder, "the run log has no readable header")
        spool.corrupt_lines = corrupt
        spool.torn_bytes = torn
        if read_only:
            spool._closed = True
            spool._size = end
            return spool

        def cut_torn_record() -> None:  # so that the next append starts on a fresh line
            if torn:
                os.truncate(path, end)

        spool._lock_for_writing("cannot open the run log for writing", cut_torn_record)
        return spool

    @classmethod
    def _from_header(cls, folder: str, record: dict) -> Spool | None:
        if record.get("t") != "run" or not isinstance(record.get("key"), str):
            return None
        next_upload = record.get("nextUpload")
        return cls(
            folder,
            {
                "key": record["key"],
                "server": record["server"] if isinstance(record.get("server"), str) else None,
                "create": record["create"] if isinstance(record.get("create"), dict) else None,
                "createdAt": record["createdAt"] if isinstance(record.get("createdAt"), (int, float)) else 0,
                "nextSeq": record["nextSeq"] if _is_count(record.get("nextSeq")) else 0,
                "nextUpload": next_upload if _is_count(next_upload) and next_upload > 0 else 1,
            },
        )

    def _apply(self, record: dict, offset: int, length: int) -> bool:
        kind = record.get("type")
        if kind in ("points", "distributions", "status"):
            seq = record.get("seq")
            if not _is_count(seq):
                return False
            points = len(record["points"]) if kind == "points" and isinstance(record.get("points"), list) else 0
            self.frames[seq] = SpooledFrame(seq, kind, points, offset, length)
            self._seq = max(self._seq, seq + 1)
            return True
        mark = record.get("t")
        if mark in ("ack", "rej"):
            seqs = record.get("seq")
            for seq in seqs if isinstance(seqs, list) else [seqs]:
                if _is_count(seq):
                    self.frames.pop(seq, None)
            return True
        if mark == "up":
            upload = record.get("upload")
            if (
                not isinstance(upload, dict)
                or not _is_count(upload.get("id"))
                or not isinstance(upload.get("file"), str)
            ):
                return False
            self.uploads[upload["id"]] = upload
            self._upload = max(self._upload, upload["id"] + 1)
            return True
        if mark in ("upd", "upr"):
            if not _is_count(record.get("id")):
                return False
            self.uploads.pop(record["id"], None)
            return True
        if mark == "bind":
            if not isinstance(record.get("server"), str):
                return False
            self.server = record["server"]
            return True
        return False

    # ------------------------------------------------------------ state

    def take_seq(self) -> int:
        """The seq the next frame carries (never reused within a folder)."""
        with self._guard:
            seq = self._seq
            self._seq += 1
            return seq

    @property
    def bytes(self) -> int:
        return self._size

    def pending_frames(self) -> list[SpooledFrame]:
        with self._guard:
            return sorted(self.frames.values(), key=lambda f: f.seq)

    def pending_uploads(self) -> list[dict]:
        with self._guard:
            return sorted(self.uploads.values(), key=lambda u: u["id"])

    # ------------------------------------------------------------ records

    def append_frame(self, seq: int, kind: str, points: int, text: str) -> SpooledFrame:
        """Appends a point or status frame (its exact wire text)."""
        data = text.encode("utf-8")
        with self._guard:
            offset = self._size
            self._write(data + b"\n")
            frame = SpooledFrame(seq, kind, points, offset, len(data))
            self.frames[seq] = frame
            return frame

    def append_ack(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._guard:
            self._write(self._record({"t": "ack", "seq": seqs}))
            for seq in seqs:
                self.frames.pop(seq, None)

    def append_reject(self, seq: int, code: str, message: str) -> None:
        """A frame the server refused for good: settled, never sent again."""
        with self._guard:
            self._write(self._record({"t": "rej", "seq": seq, "code": code, "message": message}))
            self.frames.pop(seq, None)

    def append_upload(self, upload: dict, payload: bytes) -> dict:
        """Stores an upload's payload, then its record."""
        with self._guard:
            upload_id = self._upload
            self._upload += 1
            name = f"u-{upload_id}.{'png' if upload['kind'] == 'media' else 'json'}"
            with open(os.path.join(self.dir, name), "wb") as file:
                file.write(payload)
            full = {**upload, "id": upload_id, "file": name}
            self._write(self._record({"t": "up", "upload": full}))
            self.uploads[upload_id] = full
            return full

    def read_upload_payload(self, upload: dict) -> bytes:
        with open(os.path.join(self.dir, upload["file"]), "rb") as file:
            return file.read()

    def append_upload_done(self, upload_id: int, ok: bool, code: str | None = None, message: str | None = None) -> None:
        with self._guard:
            upload = self.uploads.pop(upload_id, None)
            record = (
                {"t": "upd", "id": upload_id} if ok else {"t": "upr", "id": upload_id, "code": code, "message": message}
            )
            self._write(self._record(record))
        if upload is not None:
            try:
                os.remove(os.path.join(self.dir, upload["file"]))
            except FileNotFoundError:
                pass

    def bind(self, server: str) -> None:
        """Records the server id of a run first made offline."""
        with self._guard:
            self._write(self._record({"t": "bind", "server": server}))
            self.server = server

    def read_frame(self, frame: SpooledFrame) -> str:
        """A frame's text, read back from the log."""
        with self._guard:
            data = os.pread(self._fd, frame.length, frame.offset)
        if len(data) != frame.length:
            raise SpoolError(self.dir, f"the log is shorter than expected at byte {frame.offset}")
        return data.decode("utf-8")

    def sync(self) -> None:
        """Forces the log to stable storage (appends alone survive a process crash, not a power loss)."""
        with self._guard:
            if self._fd >= 0:
                os.fdatasync(self._fd)

    def compact(self) -> bool:
        """When nothing is pending, rewrites the log as one header line and deletes leftover payloads."""
        with self._guard:
            if self._closed or self.frames or self.uploads:
                return False
            header = {
                "t": "run",
                "v": 1,
                "key": self.key,
                "server": self.server,
                "create": self.create,
                "createdAt": self.created_at,
                "nextSeq": self._seq,
                "nextUpload": self._upload,
            }
            os.close(self._fd)
            self._fd = -1
            self._write_header_file(header)
            self._open_for_append()
            for name in os.listdir(self.dir):
                if PAYLOAD_FILE.match(name):
                    os.remove(os.path.join(self.dir, name))
            return True

    def close(self) -> None:
        """Closes the log (after an fdatasync) and releases the folder lock. Safe to call twice."""
        with self._guard:
            if not self._closed:
                self._closed = True
                if self._fd >= 0:
                    try:
                        os.fdatasync(self._fd)
                    except OSError:
                        pass  # nothing more can be done about a failing disk at close
                    os.close(self._fd)
                    self._fd = -1
            self._unlock()

    # ------------------------------------------------------------ files

    @staticmethod
    def _record(record: dict) -> bytes:
        return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")

    def _write(self, data: bytes) -> None:
        if self._closed:
            raise SpoolError(self.dir, "the spool is closed")
        done = 0
        view = memoryview(data)
        while done < len(data):  # one write per record; a loop only if the kernel takes it in pieces
            done += os.write(self._fd, view[done:])
        self._size += len(data)

    def _write_header_file(self, header: dict) -> None:
        path = os.path.join(self.dir, LOG)
        tmp = path + ".tmp"
        with open(tmp, "wb") as file:
            file.write(self._record(header))
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.dir)

    def _lock_for_writing(self, failure: str, prepare: Callable[[], object]) -> None:
        """Takes the folder's lock, runs ``prepare`` and opens the log for appending; on an OS error, releases
        everything and raises a SpoolError that starts with ``failure``."""
        self._lock()
        try:
            prepare()
            self._open_for_append()
        except OSError as err:
            self.close()
            raise SpoolError(self.dir, f"{failure}: {err.strerror or err}") from None

    def _open_for_append(self) -> None:
        path = os.path.join(self.dir, LOG)
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._size = os.fstat(self._fd).st_size

    def _lock(self) -> None:
        path = os.path.join(self.dir, LOCK)
        resolved = os.path.realpath(self.dir)
        with _locked_here_guard:
            if resolved in _locked_here:
                raise SpoolError(self.dir, "already in use by this process (finish the other run first)")
            for _ in range(2):
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    try:
                        with open(path, encoding="utf-8") as file:
                            pid = int(file.read().strip() or "0")
                    except (OSError, ValueError):
                        pid = 0
                    if pid > 0 and pid != os.getpid() and _alive(pid):
                        raise SpoolError(self.dir, f"in use by process {pid}") from None
                    try:  # a lock left by a process that died (or by this pid in an earlier life) is stale
                        os.remove(path)
                    except FileNotFoundError:
                        pass
                    continue
                except OSError as err:
                    if err.errno in (errno.EACCES, errno.EROFS, errno.ENOSPC):
                        raise SpoolError(self.dir, f"cannot take the folder lock: {err.strerror}") from None
                    raise
                with os.fdopen(fd, "w") as file:
                    file.write(str(os.getpid()))
                _locked_here.add(resolved)
                self._locked = True
                return
        raise SpoolError(self.dir, "cannot take the folder lock")

    def _unlock(self) -> None:
        if not self._locked:
            return
        self._locked = False
        with _locked_here_guard:
            _locked_here.discard(os.path.realpath(self.dir))
        try:
            os.remove(os.path.join(self.dir, LOCK))
        except FileNotFoundError:
            pass
