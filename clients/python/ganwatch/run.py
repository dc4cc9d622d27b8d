"""``ganwatch.init()`` and the Run it returns: what a training script calls. Every method checks its input and raises
InputError before anything is recorded; recording is a list append (the background Sender does the rest), so
training never waits for the network."""

from __future__ import annotations

import argparse
import atexit
import logging
import math
import os
import random
import socket
import string
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable

from . import controls as ctl
from .errors import GanwatchError, InputError, OptionError, RunNotFoundError, ServerError
from .histograms import histogram_of
from .images import png_of
from .sender import Sender
from .spool import Spool
from .system import DEFAULT_INTERVAL_S, SystemSampler, describe_system, enabled_by_default
from .transport import HttpClient, Servers, Unreachable, run_path, server_list
from .wire import (
    DEFAULT_HISTOGRAM_BUCKETS,
    MAX_BODY_BYTES,
    MAX_LATENT_CODES,
    MAX_LATENT_DIM,
    MAX_LATENT_LABEL,
    MAX_NOTES_CHARS,
    MAX_SAFE_INTEGER,
    MAX_VALUES_PER_POINT,
    MEDIA_KIND,
    MEDIA_KIND_PATTERN,
    RUN_ID,
    RUN_STATUSES,
    check_metric_name,
    check_wall,
    dumps,
    element_count,
    json_safe,
    to_count,
    to_number,
    wire_value,
)

log = logging.getLogger("ganwatch")

OPEN_TIMEOUT_S = 10.0
MAX_META_CHARS = 10_000
_uncaught = {"seen": False}
_previous_hook = sys.excepthook


def _excepthook(kind: type, value: BaseException, tb: Any) -> None:
    # A script that dies of an exception finishes its runs as failed (at exit), not finished.
    if not issubclass(kind, KeyboardInterrupt):
        _uncaught["seen"] = True
    _previous_hook(kind, value, tb)


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:  # the plain-Python paths do the same work
        return None
    return numpy


# ---------------------------------------------------------------- init


def init(
    name: str | None = None,
    config: Mapping | argparse.Namespace | None = None,
    tags: Sequence[str] | None = None,
    server: str | Sequence[str] | None = None,
    token: str | None = None,
    alerts: Mapping | None = None,
    resume: str | None = None,
    spool: str = ".ganwatch-spool",
    offline: bool = False,
    *,
    notes: str | None = None,
    backend: str | None = None,
    device: str | None = None,
    flush_interval: float = 0.2,
    poll_wait: float = 20.0,
    system_metrics: bool | None = None,
    system_interval: float = DEFAULT_INTERVAL_S,
) -> Run:
    """Starts (or, with ``resume=RUN_ID``, continues) a run and returns it.

    server: an address, a list of addresses or one comma-separated string of them (failover in that order); else
    $GANWATCH_SERVER, else http://127.0.0.1:8080. token: else $GANWATCH_TOKEN. alerts: the run's alert settings.
    spool: the folder that keeps everything not yet acknowledged. offline: no network at all (upload later with
    ``python -m ganwatch sync``). Raises ServerError when no server answers (unless offline), RunNotFoundError when
    ``resume`` names a run nobody has, InputError or OptionError for bad arguments.

    system_metrics: push sys/cpu_percent, sys/rss_mb and, with nvidia-smi, per GPU sys/gpu_util/N, sys/gpu_mem_mb/N,
    sys/gpu_temp_c/N every ``system_interval`` s (10) from a daemon thread, and record the GPU names; default on,
    unless $GANWATCH_SYSTEM_METRICS is 0, false, off or no."""
    urls = server_list(server)
    token = token if token is not None else (os.environ.get("GANWATCH_TOKEN") or None)
    if not isinstance(spool, (str, os.PathLike)) or not str(spool):
        raise OptionError("spool must be a folder path")
    spool_dir = os.fspath(spool)
    if not (isinstance(flush_interval, (int, float)) and 0.01 <= flush_interval <= 60):
        raise OptionError("flush_interval must be from 0.01 to 60 seconds")
    if not (isinstance(poll_wait, (int, float)) and 0 < poll_wait <= 30):
        raise OptionError("poll_wait must be above 0 and at most 30 seconds")
    sampling = enabled_by_default() if system_metrics is None else bool(system_metrics)
    if not (isinstance(system_interval, (int, float)) and 0.01 <= system_interval <= 3600):
        raise OptionError("system_interval must be from 0.01 to 3600 seconds")
    body = _create_body(name, config, tags, notes, alerts, backend, device)
    if resume is None:
        body["system"] = describe_system(probe_gpus=sampling)
    servers = Servers(urls)
    http = HttpClient(servers, token, timeout=OPEN_TIMEOUT_S)
    known: dict | None = None
    try:
        if resume is not None:
            if not isinstance(resume, str) or not resume:
                raise InputError("resume must be a run id (a string)")
            key = Spool.find(spool_dir, resume)
            if key is not None:
                spool_obj = Spool.open(spool_dir, key)
                known = _try_fetch(http, spool_obj.server) if not offline and spool_obj.server else None
            else:
                if RUN_ID.match(resume) is None:
                    raise InputError(f"resume {resume!r} is not a run id (lowercase letters and digits)")
                if not offline:
                    known = _fetch_run(http, resume)
                spool_obj = Spool.create(spool_dir, resume, resume, None, time.time())
        elif offline:
            spool_obj = Spool.create(spool_dir, _local_key(), None, body, time.time())
        else:
            created = _create_run(http, body)
            spool_obj = Spool.create(spool_dir, created["id"], created["id"], body, time.time())
            known = created
    finally:
        http.close()
    return Run(
        spool_obj,
        servers,
        token,
        offline,
        body,
        known,
        resumed=resume is not None,
        flush_interval=flush_interval,
        poll_wait=poll_wait,
        system_interval=system_interval if sampling else None,
    )


def _create_body(name: Any, config: Any, tags: Any, notes: Any, alerts: Any, backend: Any, device: Any) -> dict:
    if name is None:
        script = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else ""))[0] or "python"
        name = f"{script}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not isinstance(name, str) or not 1 <= len(name) <= 200:
        raise InputError(f"name must be a string of 1 to 200 characters, got {name!r:.80}")
    body: dict = {"name": name}
    if config is not None:
        if isinstance(config, argparse.Namespace):
            config = vars(config)
        if not isinstance(config, Mapping):
            raise InputError(f"config must be a dict (or an argparse.Namespace), got {type(config).__name__}")
        body["config"] = json_safe(config, "config")
        if len(body["config"]) > 2000 or any(len(k) > 200 for k in body["config"]):
            raise InputError("config may have at most 2000 keys of at most 200 characters each")
    if tags is not None:
        body["tags"] = _check_tags(tags)
    if notes is not None:
        if not isinstance(notes, str) or len(notes) > MAX_NOTES_CHARS:
            raise InputError("notes must be a string of at most 20,000 characters")
        body["notes"] = notes
    if alerts is not None:
        if not isinstance(alerts, Mapping):
            raise InputError(f"alerts must be a dict of alert settings, got {type(alerts).__name__}")
        body["alerts"] = json_safe(alerts, "alerts")
    found_backend, found_device = _torch_backend()
    body["host"] = socket.gethostname()[:200]
    for key, value, found in (("backend", backend, found_backend), ("device", device, found_device)):
        if value is not None and not isinstance(value, str):
            raise InputError(f"{key} must be a string")
        if value or found:
            body[key] = (value or found)[:200]
    return body


def _check_tags(tags: Any) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise InputError(f"tags must be a list of strings, got {type(tags).__name__}")
    out = list(tags)
    if len(out) > 64:
        raise InputError(f"at most 64 tags, got {len(out)}")
    for tag in out:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 64 or any(ord(c) < 32 for c in tag):
            raise InputError(f"tag {tag!r:.80} must be a string of 1 to 64 characters without control characters")
    if len(set(out)) != len(out):
        raise InputError("tags must not repeat")
    return out


def _torch_backend() -> tuple[str | None, str | None]:
    """PyTorch's version and device when the script has imported torch (never imported here: it takes seconds)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None, None
    try:
        cuda = torch.cuda.is_available()
        device = torch.cuda.get_device_name(0) if cuda else "cpu"
    except Exception:  # noqa: BLE001 -- a broken CUDA set-up must not stop the run from starting
        device = None
    return f"pytorch {getattr(torch, '__version__', '?')}", device


def _local_key() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return "local" + _base36(int(time.time() * 1000)) + "".join(random.choice(alphabet) for _ in range(8))


def _base36(number: int) -> str:
    digits = string.digits + string.ascii_lowercase
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def _each_server(http: HttpClient, attempt: Callable[[], Any], what: str) -> Any:
    """Runs ``attempt`` against each address in turn until one answers; ServerError naming them all otherwise."""
    failures = []
    for _ in http.servers.urls:
        try:
            return attempt()
        except Unreachable as err:
            failures.append(f"{err.url}: {err.reason}")
            http.servers.failed(err.url)
    raise ServerError(
        ", ".join(http.servers.urls),
        f"unreachable ({'; '.join(failures)}); cannot {what}. Is the "
        "server running (npm start)? Or pass offline=True and upload later with python -m ganwatch sync",
    )


def _create_run(http: HttpClient, body: dict) -> dict:
    res = _each_server(http, lambda: http.json("POST", "/runs", body), f"create run '{body['name']}'")
    if not res.ok:
        _, detail = res.error()
        raise ServerError(res.url, f"cannot create run '{body['name']}': {detail}")
    return res.json()


def _fetch_run(http: HttpClient, run_id: str) -> dict:
    res = _each_server(http, lambda: http.request("GET", run_path(run_id)), f"resume run '{run_id}'")
    if res.status == 404:
        raise RunNotFoundError(run_id)
    if not res.ok:
        _, detail = res.error()
        raise ServerError(res.url, f"cannot read run '{run_id}': {detail}")
    return res.json()


def _try_fetch(http: HttpClient, run_id: str) -> dict | None:
    """The run as the server knows it, if a server answers quickly; resuming from the spool works without one."""
    http.timeout = 2.0
    try:
        return _fetch_run(http, run_id)
    except GanwatchError:
        return None


# ---------------------------------------------------------------- the run


class Run:
    """A run being recorded. Create it with ganwatch.init()."""

    def __init__(
        self,
        spool: Spool,
        servers: Servers,
        token: str | None,
        offline: bool,
        body: dict,
        known: dict | None,
        resumed: bool,
        flush_interval: float,
        poll_wait: float,
        system_interval: float | None = None,
    ) -> None:
        self.name: str = (known or {}).get("name") or (spool.create or body)["name"]
        self.config: dict = dict((known or {}).get("config") or (spool.create or body).get("config") or {})
        self.parent_id: str | None = (known or {}).get("parent_id") or (spool.create or body).get("parent_id")
        """The run this one was forked from (a rollback), or None."""
        self.fork_step: int | None = (known or {}).get("fork_step", (spool.create or body).get("fork_step"))
        """The parent's step this run continues after, or None."""
        self._body = spool.create or body
        self._tags = (known or {}).get("tags") or self._body.get("tags")
        self._servers = servers
        self._token = token
        self._flush_interval = flush_interval
        self._poll_wait = poll_wait
        self.offline = offline
        self.spool_dir = spool.dir
        self._max_norm = 0.0
        # Whether the loop clips (it called clip_gradients() or set max_norm, to clip with it itself): until then a
        # set_clip control would change nothing, and is refused rather than answered applied.
        self._clips = False
        self._spool = spool
        self._lock = threading.RLock()
        self._known_names: set[str] = set()
        last = (known or {}).get("last_step")
        self._last_step: int | None = last if isinstance(last, int) else None
        self._next_step = 0 if self._last_step is None else self._last_step + 1
        self._controls: deque[dict] = deque()
        self._controls_cond = threading.Condition(self._lock)
        self._paused = False
        self._should_stop = False
        self._finished = False
        self._finish_result = False
        self._pid = os.getpid()
        self._sender = Sender(
            spool, servers, token, offline, self._receive_control, flush_interval=flush_interval, poll_wait=poll_wait
        )
        if resumed:
            self._sender.push_status("running")
        self._sampler = SystemSampler(self._log_system, system_interval) if system_interval is not None else None
        if self._sampler is not None:
            self._sampler.start()
        atexit.register(self._at_exit)
        if sys.excepthook is not _excepthook and sys.excepthook is sys.__excepthook__:
            sys.excepthook = _excepthook

    # ------------------------------------------------------------ identity

    @property
    def id(self) -> str:
        """The run's id on the server (offline, until synced: the local spool key)."""
        return self._spool.server or self._spool.key

    @property
    def server(self) -> str:
        """The server address in use (it changes on failover)."""
        return self._sender.servers.current

    @property
    def url(self) -> str | None:
        """The run's page on the dashboard (None while the run exists only offline)."""
        if self._spool.server is None:
            return None
        return f"{self.server}/#/runs/{self._spool.server}"

    @property
    def step(self) -> int | None:
        """The last step given to log() (None before the first)."""
        return self._last_step

    @property
    def should_stop(self) -> bool:
        """True once a stop control arrived: end the training loop and call finish()."""
        return self._should_stop

    @property
    def paused(self) -> bool:
        return self._paused

    def __repr__(self) -> str:
        return f"<ganwatch.Run id={self.id!r} name={self.name!r} url={self.url!r}>"

    def stats(self) -> dict:
        """Counters of the client: pushed, acked and rejected points, what waits in memory and in the spool, the
        server in use, failovers, whether the last request got an answer, and the last problem met."""
        return self._sender.stats()

    # ------------------------------------------------------------ recording

    def log(self, values: Mapping[str, Any], step: int | None = None, *, wall: float | None = None) -> None:
        """Records one step's values: floats, ints, numpy or torch scalars (NaN and ±inf are kept). ``step``
        defaults to the step after the last one logged; ``wall`` (seconds since the epoch) to now."""
        self._check_open("log")
        if type(values) is not dict and not isinstance(values, Mapping):
            raise InputError(f"log() takes a dict of metric names to numbers, got {type(values).__name__}")
        if step is None:
            number = self._next_step
        elif type(step) is int and 0 <= step <= MAX_SAFE_INTEGER:
            number = step
        else:
            number = to_count(step, "step")
        self._record(values, number, time.time() if wall is None else check_wall(wall))
        with self._lock:
            self._last_step = number
            self._next_step = number + 1

    def _record(self, values: Mapping[str, Any], step: int, wall: float) -> None:
        if not values:
            raise InputError(f"step {step} has no values")
        if len(values) > MAX_VALUES_PER_POINT:
            raise InputError(f"step {step} has {len(values)} values; the limit is {MAX_VALUES_PER_POINT}")
        wire = {}
        known = self._known_names
        for name, value in values.items():
            if name not in known:
                check_metric_name(name)
            # The common case first, without function calls: a finite float (x - x is NaN for NaN and ±inf).
            if type(value) is float and value - value == 0.0:
                wire[name] = value
            else:
                wire[name] = wire_value(to_number(value, f"metric '{name}'"))
        known.update(wire)
        self._sender.push(dumps({"step": step, "wall": wall, "values": wire}))

    def _log_system(self, values: dict[str, float]) -> None:
        """From the sampler thread: a sample goes at the last step logged (a resumed run's last step on the server
        until one is logged), like every point keyed by a step; with no step yet there is nowhere to put it."""
        with self._lock:
            if self._last_step is None or self._finished:
                return
            self._sender.push(dumps({"step": self._last_step, "wall": time.time(), "values": values}))

    def log_histogram(
        self,
        name: str,
        values: Any,
        step: int | None = None,
        buckets: int = DEFAULT_HISTOGRAM_BUCKETS,
        *,
        wall: float | None = None,
    ) -> None:
        """Records the distribution of ``values`` (a list, numpy array or torch tensor of any shape, on any device) at
        ``step`` under ``name``, e.g. D's outputs on real images or a layer's weights: ``buckets`` equal-width buckets
        over their min..max, NaN and ±inf counted apart. Delivered like log() (spooled, acknowledged, sent again after
        an outage); a later histogram of the same name and step replaces it. step defaults to the last step logged."""
        self._check_open("log_histogram")
        check_metric_name(name)
        step_n = self._default_step() if step is None else to_count(step, "step")
        wall_s = time.time() if wall is None else check_wall(wall)
        hist = histogram_of(values, buckets, _numpy())
        self._sender.push_distribution(dumps({"name": name, "step": step_n, "wall": wall_s, **hist}))

    def log_image(
        self,
        image: Any,
        epoch: int | None = None,
        step: int | None = None,
        kind: str = "samples",
        *,
        meta: Mapping | None = None,
        dataformats: str | None = None,
        value_range: str = "auto",
    ) -> None:
        """Records an image: PNG bytes, or an H×W×C / C×H×W (or H×W, or a batch tiled into a grid) uint8 or float
        array, numpy or torch; floats in [-1, 1] (when any is negative) or [0, 1]. ``dataformats`` ('CHW', 'HWC',
        'NCHW', ...) settles an ambiguous shape; value_range='tensorboard' reads every non-uint8 array as [0, 1], as
        TensorBoard does. Images are keyed by (kind, epoch, step); the dashboard shows kind
        'samples'. epoch defaults to 0 and step to the last step logged."""
        self._check_open("log_image")
        epoch_n = 0 if epoch is None else to_count(epoch, "epoch")
        step_n = self._default_step() if step is None else to_count(step, "step")
        if not isinstance(kind, str) or MEDIA_KIND.match(kind) is None:
            raise InputError(f"image kind {kind!r:.80} must be 1 to 64 letters, digits or _ . - ({MEDIA_KIND_PATTERN})")
        if meta is not None and not isinstance(meta, Mapping):
            raise InputError(f"meta must be a dict, got {type(meta).__name__}")
        png, found = png_of(image, dataformats, value_range)
        info = {**found, **json_safe(meta or {}, "meta")}
        upload: dict = {"kind": "media", "epoch": epoch_n, "step": step_n, "mediaKind": kind}
        if info:
            upload["meta"] = dumps(info)
            if len(upload["meta"]) > MAX_META_CHARS:
                raise InputError(
                    f"image meta is {len(upload['meta'])} characters of JSON; the limit is {MAX_META_CHARS}"
                )
        self._sender.push_upload(upload, png)

    def log_latents(self, codes: Any, labels: Any = None, epoch: int | None = None, *, step: int | None = None) -> None:
        """Records latent codes for the t-SNE/PCA/UMAP plots: N×D codes (list of rows, numpy or torch), optional
        integer class labels (one per code). epoch defaults to 0 and step to the last step logged."""
        self._check_open("log_latents")
        epoch_n = 0 if epoch is None else to_count(epoch, "epoch")
        step_n = self._default_step() if step is None else to_count(step, "step")
        rows, count, dim = _latent_rows(codes)
        parts = [f'{{"epoch":{epoch_n},"step":{step_n},"dim":{dim},"codes":[', rows, "]"]
        if labels is not None:
            parts.append(',"labels":' + dumps(_latent_labels(labels, count)))
        text = "".join(parts) + "}"
        if len(text) > MAX_BODY_BYTES:
            raise InputError(
                f"{count} latent codes make {len(text)} bytes of JSON; the limit is {MAX_BODY_BYTES}: "
                "subsample the codes"
            )
        self._sender.push_upload(
            {"kind": "latents", "epoch": epoch_n, "step": step_n, "count": count}, text.encode("utf-8")
        )

    def update_config(self, values: Mapping) -> None:
        """Adds or replaces configuration keys of the run (e.g. hyperparameters known only later)."""
        self._check_open("update_config")
        if not isinstance(values, Mapping):
            raise InputError(f"update_config() takes a dict, got {type(values).__name__}")
        with self._lock:
            merged = {**self.config, **json_safe(values, "config")}
            if len(merged) > 2000 or any(len(k) > 200 for k in merged):
                raise InputError("config may have at most 2000 keys of at most 200 characters each")
            self.config = merged
        self._sender.patch_run({"config": merged})

    def set_notes(self, notes: str) -> None:
        """Replaces the run's notes (shown on its page)."""
        self._check_open("set_notes")
        if not isinstance(notes, str) or len(notes) > MAX_NOTES_CHARS:
            raise InputError("notes must be a string of at most 20,000 characters")
        self._sender.patch_run({"notes": notes})

    def flush(self, timeout: float = 30.0) -> bool:
        """Waits up to ``timeout`` s until everything recorded so far is stored by the server; True if it is.
        With timeout 0 (or offline) it only makes sure everything is in the spool on disk."""
        return self._sender.flush(timeout)

    def finish(self, status: str = "finished", timeout: float = 30.0) -> bool:
        """Ends the run: status ``finished`` (or ``failed``), then waits up to ``timeout`` s for every
        acknowledgement. What does not get through stays in the spool (resume= or python -m ganwatch sync sends it).
        Returns True when everything was stored. Calling it again does nothing."""
        if status not in ("finished", "failed"):
            raise InputError(f"finish() status must be 'finished' or 'failed', got {status!r}")
        with self._lock:
            if self._finished:
                return self._finish_result
            self._finished = True
            self._controls_cond.notify_all()  # a paused apply_controls() returns
        if self._sampler is not None:
            self._sampler.stop()
        self._sender.push_status(status)
        ok = self._sender.close(timeout)
        self._finish_result = ok
        atexit.unregister(self._at_exit)
        if not ok and not self.offline:
            log.warning(
                "ganwatch: run %s: not everything reached the server within %s s; it is kept in %s and sent "
                "by ganwatch.init(resume=%r) or python -m ganwatch sync",
                self.id,
                timeout,
                self.spool_dir,
                self.id,
            )
        return ok

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, tb: Any) -> bool:
        failed = kind is not None and not issubclass(kind, KeyboardInterrupt)
        self.finish("failed" if failed else "finished")
        return False

    def _at_exit(self) -> None:
        # A forked child (a data-loader worker) inherits this hook but not the run's threads: only the parent finishes.
        if not self._finished and os.getpid() == self._pid:
            self.finish("failed" if _uncaught["seen"] else "finished", timeout=10.0)

    def _check_open(self, what: str) -> None:
        if self._finished:
            raise InputError(f"{what}() after finish()")

    def _default_step(self) -> int:
        return 0 if self._last_step is None else self._last_step

    # ------------------------------------------------------------ controls

    def _receive_control(self, control: dict) -> None:
        """From the poller thread: queue a control for the next apply_controls(), or refuse it at once."""
        reason = ctl.not_understood(control)
        if reason is not None:
            self._answer(
                ctl.ControlResult(control["id"], str(control.get("action")), {}, False, self._default_step(), reason)
            )
            return
        with self._lock:
            self._controls.append(control)
            self._controls_cond.notify_all()

    def apply_controls(
        self,
        optimizers: Mapping | None = None,
        lambdas: Any = None,
        on_checkpoint: Callable | None = None,
        *,
        schedulers: Iterable | None = None,
        step: int | None = None,
        on_rollback: Callable[[str], int] | None = None,
    ) -> list[ctl.ControlResult]:
        """Applies the controls that arrived since the last call (call it once per step): set_lr/scale_lr on the
        param groups of ``optimizers`` ({'G': opt, 'E': opt, 'D': [opt_D, opt_D2]}; 'D' covers D and D2) and the
        base lrs of ``schedulers`` over them, set/scale_lambda on ``lambdas`` (a dict or an object: adv/cyc/latent/kl,
        or lambda_GAN/lambda_L1/lambda_z/lambda_kl as the official code names them), set_clip on ``run.max_norm``,
        pause (blocks here until resume or stop), stop (``run.should_stop``), checkpoint (calls ``on_checkpoint``,
        with the step if it takes one). Each control is answered with its result and the step: for lr, λ and
        clipping the first step that uses the new value (the step after ``step``, which defaults to the last step
        logged), otherwise ``step``. Returns what was handled, in order.

        rollback: calls ``on_rollback(checkpoint)`` ('latest' or 'best'), which restores that checkpoint (weights,
        optimizer states, RNG) and returns the step it was saved after; then the control's lr, λ and clipping
        overrides are applied as above, and this Run becomes a child run forked from the old one at that step (the old
        run is answered and finished; its later controls are refused): keep logging to the same object, from the step
        after the fork. ``run.id``, ``run.parent_id`` and ``run.fork_step`` say where it is now."""
        if step is not None:
            step = to_count(step, "step")
        results: list[ctl.ControlResult] = []
        while True:
            with self._lock:
                while not self._controls and self._paused and not self._should_stop and not self._finished:
                    self._controls_cond.wait()
                if not self._controls:
                    return results
                control = self._controls.popleft()
            current = self._default_step() if step is None else step
            if control["action"] == "rollback":  # answers by itself: on the old run, before moving to the child
                results.append(self._rollback(control, current, optimizers, lambdas, schedulers, on_rollback))
                continue
            result = self._apply(control, current, optimizers, lambdas, on_checkpoint, schedulers)
            self._answer(result)
            results.append(result)

    def _apply(
        self, control: dict, current: int, optimizers: Any, lambdas: Any, on_checkpoint: Any, schedulers: Any
    ) -> ctl.ControlResult:
        action, args = control["action"], control["args"]
        step = current + 1 if action in ctl.MODEL_ACTIONS else current
        try:
            message = self._carry_out(action, args, current, optimizers, lambdas, on_checkpoint, schedulers)
            ok = True
        except ctl.ControlFailed as err:
            ok, message = False, str(err)
        except Exception as err:  # noqa: BLE001 -- the trainer's own code (a checkpoint function) failed: say so
            ok, message = False, f"{type(err).__name__}: {err}"
        return ctl.ControlResult(control["id"], action, dict(args), ok, step, message)

    def _carry_out(
        self, action: str, args: dict, current: int, optimizers: Any, lambdas: Any, on_checkpoint: Any, schedulers: Any
    ) -> str:
        nxt = current + 1
        if action in ("set_lr", "scale_lr"):
            nets, lr, per_net = ctl.change_lr(
                optimizers, schedulers, args["net"], args.get("value"), args.get("factor")
            )
            self._record_quietly({f"lr/{net}": value for net, value in per_net.items()}, nxt)
            change = f"= {ctl.fmt(lr)}" if action == "set_lr" else f"×{ctl.fmt(args['factor'])} = {ctl.fmt(lr)}"
            return f"lr {' and '.join(nets)} {change} from step {nxt}"
        if action in ("set_lambda", "scale_lambda"):
            keys, value = ctl.change_lambda(lambdas, args["name"], args.get("value"), args.get("factor"))
            self._record_quietly({f"lambda/{args['name']}": value}, nxt)
            where = f" ({', '.join(keys)})" if keys != [args["name"]] else ""
            change = (
                f"= {ctl.fmt(value)}" if action == "set_lambda" else f"×{ctl.fmt(args['factor'])} = {ctl.fmt(value)}"
            )
            return f"lambda {args['name']}{where} {change} from step {nxt}"
        if action == "set_clip":
            if not self._clips:
                raise ctl.ControlFailed(
                    "this training loop does not clip: call run.clip_gradients(parameters) after backward()"
                )
            self.max_norm = float(args["max_norm"])
            self._record_quietly({"clip/max_norm": self.max_norm}, nxt)
            if self.max_norm == 0:
                return f"gradient clipping off from step {nxt}"
            return f"gradient clipping at norm {ctl.fmt(self.max_norm)} from step {nxt}"
        if action == "pause":
            if self._paused:
                return f"already paused after step {current}"
            self._paused = True
            self._sender.push_status("paused")
            return f"paused after step {current}"
        if action == "resume":
            if not self._paused:
                raise ctl.ControlFailed("the run is not paused")
            self._paused = False
            self._sender.push_status("running")
            return f"resumed after step {current}"
        if action == "stop":
            self._should_stop = True
            if self._paused:
                self._paused = False
                self._sender.push_status("running")
            return f"stopping after step {current}"
        saved = ctl.call_checkpoint(on_checkpoint, current)
        return (
            f"saved {saved} after step {current}"
            if isinstance(saved, (str, os.PathLike))
            else f"checkpoint saved after step {current}"
        )

    def _rollback(
        self, control: dict, current: int, optimizers: Any, lambdas: Any, schedulers: Any, on_rollback: Any
    ) -> ctl.ControlResult:
        """The rollback control: what can be checked is checked before the trainer's restore function runs (so a
        refusal changes nothing), then the overrides, the child run, the answer on the parent, and the move."""
        args = control["args"]
        request = ctl.Rollback(
            checkpoint=args["checkpoint"],
            lr=dict(args.get("lr", {})),
            lr_factor=args.get("lr_factor"),
            lambdas=dict(args.get("lambda", {})),
            max_norm=args.get("max_norm"),
        )

        def answer(ok: bool, step: int, message: str) -> ctl.ControlResult:
            result = ctl.ControlResult(control["id"], "rollback", dict(args), ok, step, message)
            self._answer(result)
            return result

        try:
            self._check_rollback(request, optimizers, lambdas)
            fork_step = ctl.call_rollback(on_rollback, request)
            changed, values = self._rollback_overrides(request, optimizers, lambdas, schedulers)
        except ctl.ControlFailed as err:
            return answer(False, current, str(err))
        except Exception as err:  # noqa: BLE001 -- the trainer's own restore function failed: say so
            return answer(False, current, f"{type(err).__name__}: {err}")
        restored = f"restored the {request.checkpoint} checkpoint (step {fork_step}) after step {current}"
        restored += "".join(f"; {c}" for c in changed)
        try:
            created, body = self._create_child(fork_step)
        except GanwatchError as err:
            # The trainer has restored: it goes on in this run (the steps it redoes overwrite the diverged ones).
            with self._lock:
                self._last_step, self._next_step = fork_step, fork_step + 1
            self._record_quietly(values, fork_step + 1)
            return answer(False, fork_step, f"{restored}, but no child run could be created ({err}): continuing here")
        result = answer(True, fork_step, f"{restored}; training continues as run {created['id']}")
        self._become_child(created, body, fork_step)
        self._record_quietly(values, fork_step + 1)
        return result

    def _check_rollback(self, request: ctl.Rollback, optimizers: Any, lambdas: Any) -> None:
        """Refuses, before anything changes, overrides this loop could not apply."""
        if self.offline:
            raise ctl.ControlFailed("an offline run cannot roll back into a child run")
        if request.lr_factor is not None and not optimizers:
            raise ctl.ControlFailed("no optimizers were given to apply_controls(optimizers={'G': ..., 'D': ...})")
        for net in request.lr:
            ctl._optimizers_for(optimizers, net)
        for name in request.lambdas:
            ctl.lambda_keys(lambdas, name)
        if request.max_norm is not None and not self._clips:
            raise ctl.ControlFailed(
                "this training loop does not clip: call run.clip_gradients(parameters) after backward()"
            )

    def _rollback_overrides(
        self, request: ctl.Rollback, optimizers: Any, lambdas: Any, schedulers: Any
    ) -> tuple[list[str], dict]:
        """lr_factor scales every net's lr, then lr sets the nets it names, λs and clipping are set. Returns the
        phrases for the answer and the values to log (lr/*, lambda/*, clip/max_norm)."""
        changed: list[str] = []
        values: dict = {}
        if request.lr_factor is not None:
            scaled: dict[str, float] = {}
            for net in ("G", "E", "D"):
                names = ("D", "D2") if net == "D" else (net,)
                if any(optimizers.get(n) is not None for n in names):
                    scaled.update(ctl.change_lr(optimizers, schedulers, net, None, request.lr_factor)[2])
            changed.append(
                f"lr {', '.join(f'{n} {ctl.fmt(v)}' for n, v in scaled.items())} (×{ctl.fmt(request.lr_factor)})"
            )
            values.update({f"lr/{n}": v for n, v in scaled.items()})
        for net, value in request.lr.items():
            nets, _, per_net = ctl.change_lr(optimizers, schedulers, net, value, None)
            changed.append(f"lr {' and '.join(nets)} = {ctl.fmt(value)}")
            values.update({f"lr/{n}": v for n, v in per_net.items()})
        for name, value in request.lambdas.items():
            keys, new = ctl.change_lambda(lambdas, name, value, None)
            changed.append(f"lambda {name} = {ctl.fmt(new)}")
            values[f"lambda/{name}"] = new
        if request.max_norm is not None:
            self.max_norm = float(request.max_norm)
            changed.append("clipping off" if self.max_norm == 0 else f"clipping at norm {ctl.fmt(self.max_norm)}")
            values["clip/max_norm"] = self.max_norm
        return changed, values

    def _create_child(self, fork_step: int) -> tuple[dict, dict]:
        body = {k: v for k, v in self._body.items() if k not in ("parent_id", "fork_step", "system")}
        body.update(
            name=f"{self.name} (fork at step {fork_step})"[:200],
            config=self.config,
            parent_id=self.id,
            fork_step=fork_step,
        )
        if self._tags:
            body["tags"] = list(self._tags)
        http = HttpClient(self._servers, self._token, timeout=OPEN_TIMEOUT_S)
        try:
            return _create_run(http, body), body
        finally:
            http.close()

    def _become_child(self, created: dict, body: dict, fork_step: int) -> None:
        """Finishes the parent run (its queued controls refused), then records into the child from here on."""
        with self._lock:
            left = list(self._controls)
            self._controls.clear()
        for control in left:
            refused = f"not applied: the run was rolled back to step {fork_step}; it continues as {created['id']}"
            self._answer(ctl.ControlResult(control["id"], str(control.get("action")), {}, False, fork_step, refused))
        old = self._sender
        old.push_status("finished")
        if not old.close(OPEN_TIMEOUT_S):
            log.warning("ganwatch: run %s: not everything reached the server; it is kept in %s", self.id, old.spool.dir)
        spool_root = os.path.dirname(self._spool.dir)
        spool = Spool.create(spool_root, created["id"], created["id"], body, time.time())
        with self._lock:
            self._spool = spool
            self._body = body
            self.spool_dir = spool.dir
            self.name = created["name"]
            self.parent_id = created.get("parent_id")
            self.fork_step = created.get("fork_step")
            self._last_step, self._next_step = fork_step, fork_step + 1
            self._sender = Sender(
                spool,
                self._servers,
                self._token,
                False,
                self._receive_control,
                flush_interval=self._flush_interval,
                poll_wait=self._poll_wait,
            )
        if self._paused:
            self._sender.push_status("paused")

    def _record_quietly(self, values: dict, step: int) -> None:
        """Logs the values a control changed (lr/*, lambda/*, clip/max_norm) without moving the run's step."""
        if values and not self._finished:
            self._record(values, step, time.time())

    def _answer(self, result: ctl.ControlResult) -> None:
        body: dict = {"ok": result.ok, "step": result.step, "message": result.message[:2000]}
        if self.offline:
            return
        self._sender.post_result(result.id, body)
        if not result.ok:
            log.warning("ganwatch: control #%s %s refused: %s", result.id, result.action, result.message)

    @property
    def max_norm(self) -> float:
        """Gradient clipping norm (0: off), set by a set_clip control; clip_gradients() applies it. A loop that clips
        by itself sets it once (its starting norm, 0 for off) and reads it every step."""
        return self._max_norm

    @max_norm.setter
    def max_norm(self, value: float) -> None:
        self._clips = True
        self._max_norm = float(value)

    def clip_gradients(self, parameters: Any) -> Any:
        """Clips the gradients of ``parameters`` to ``run.max_norm`` (set by a set_clip control) with
        torch.nn.utils.clip_grad_norm_ and returns the total norm; does nothing (returns None) while clipping is off.
        Call it every step (also while off): a set_clip control is refused by a loop that never calls it."""
        self._clips = True
        if not self.max_norm:
            return None
        import torch  # only here: the client itself never needs torch

        return torch.nn.utils.clip_grad_norm_(parameters, self.max_norm)


# ---------------------------------------------------------------- latent codes


def _latent_rows(codes: Any) -> tuple[str, int, int]:
    """Codes as the JSON text of their rows (9 significant digits: float32 comes back exactly), count and dim."""
    np = _numpy()
    if hasattr(codes, "detach") and hasattr(codes, "cpu"):
        tensor = codes.detach().cpu()
        codes = tensor.double().numpy() if np is not None else tensor.tolist()
    if np is not None and not isinstance(codes, np.ndarray):
        if isinstance(codes, (list, tuple)):
            try:
                codes = np.asarray(codes)
            except ValueError:
                raise InputError("latent codes must be rows of the same length (N×D)") from None
        else:
            raise InputError(
                f"latent codes must be N×D rows (a list, numpy array or torch tensor), got {type(codes).__name__}"
            )
    if np is not None:
        if codes.dtype.kind not in "uifb":
            raise InputError(f"latent codes must be numbers, got dtype {codes.dtype}")
        if codes.ndim != 2:
            raise InputError(f"latent codes must be N×D (2 axes), got shape {tuple(codes.shape)}")
        values = codes.astype(np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(f"latent code {int(np.argwhere(bad)[0][0])} holds a NaN or infinite value")
        count, dim = values.shape
        rows = values.tolist()
    else:
        if not isinstance(codes, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in codes):
            raise InputError("latent codes must be N×D rows (a list of lists)")
        count, dim = len(codes), len(codes[0]) if codes else 0
        rows = []
        for i, row in enumerate(codes):
            if len(row) != dim:
                raise InputError(f"latent code {i} has {len(row)} values, expected {dim}")
            converted = [float(to_number(v, f"latent code {i}")) for v in row]
            if not all(math.isfinite(v) for v in converted):
                raise InputError(f"latent code {i} holds a NaN or infinite value")
            rows.append(converted)
    if not 1 <= count <= MAX_LATENT_CODES:
        raise InputError(f"latent code count must be from 1 to {MAX_LATENT_CODES}, got {count}")
    if not 1 <= dim <= MAX_LATENT_DIM:
        raise InputError(f"latent dimension must be from 1 to {MAX_LATENT_DIM}, got {dim}")
    text = ",".join("[" + ",".join([f"{v:.9g}" for v in row]) + "]" for row in rows)
    return text, count, dim


def _latent_labels(labels: Any, count: int) -> list[int]:
    if hasattr(labels, "detach") and hasattr(labels, "cpu"):
        labels = labels.detach().cpu().tolist()
    elif hasattr(labels, "tolist") and element_count(labels) is not None:
        labels = labels.tolist()
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (list, tuple)):
        raise InputError(f"labels must be a list of integers, got {type(labels).__name__}")
    if len(labels) != count:
        raise InputError(f"{len(labels)} labels for {count} latent codes")
    out = []
    for i, label in enumerate(labels):
        if isinstance(label, float) and label.is_integer():
            label = int(label)
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= MAX_LATENT_LABEL:
            raise InputError(f"label {i} is {label!r:.40}; labels must be integers from 0 to {MAX_LATENT_LABEL}")
        out.append(label)
    return out


__all__ = ["init", "Run", "RUN_STATUSES"]
