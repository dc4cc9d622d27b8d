"""A drop-in for ``torch.utils.tensorboard.SummaryWriter`` that records to ganwatch instead of event files:

    from ganwatch.tensorboard import SummaryWriter   # was: from torch.utils.tensorboard import SummaryWriter

Every method of PyTorch's SummaryWriter is here with the same parameters. Scalars, images, embeddings, hparams and
text are recorded; what ganwatch does not store (histograms, graphs, audio, video, PR curves, meshes, custom
layouts) is accepted and skipped with one warning per method, so a script runs unchanged. The run is named after
``log_dir``'s last folder (``runs/exp1`` → ``exp1``); the server comes from $GANWATCH_SERVER (or pass ``server=``
and any other ganwatch.init() argument as a keyword)."""

from __future__ import annotations

import io
import os
import re
import socket
import warnings
from datetime import datetime
from typing import Any

from .errors import InputError
from .run import Run, init
from .wire import MAX_NOTES_CHARS, MEDIA_KIND, check_wall

NOT_METRIC = re.compile(r"[^A-Za-z0-9_./-]")
NOT_KIND = re.compile(r"[^A-Za-z0-9_.-]")


class SummaryWriter:
    """Records to a ganwatch run with the API of torch.utils.tensorboard.SummaryWriter."""

    def __init__(
        self,
        log_dir=None,
        comment="",
        purge_step=None,
        max_queue=10,
        flush_secs=120,
        filename_suffix="",
        *,
        run: Run | None = None,
        **init_kwargs: Any,
    ):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", stamp + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        # Accepted for compatibility: the server upserts by (metric, step), so a resumed run overwrites what it redoes.
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        name = os.path.basename(os.path.normpath(str(log_dir)))[:200] or "tensorboard"
        self.run = run if run is not None else init(name=name, **init_kwargs)
        self._owns_run = run is None
        self._steps: dict[str, int] = {}
        self._last_step = 0
        self._texts: list[str] = []
        self._warned: set[str] = set()
        self._label_names: dict[str, list[str]] = {}

    # ------------------------------------------------------------ helpers

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"ganwatch SummaryWriter: {message}", stacklevel=3)

    def _metric(self, tag: Any) -> str:
        """A TensorBoard tag as a metric name (other characters become _, at most 128)."""
        text = str(tag)
        name = NOT_METRIC.sub("_", text)[:128] or "_"
        if name != text:
            self._warn_once(f"tag:{text}", f"tag {text!r} is recorded as metric {name!r}")
        return name

    def _kind(self, tag: Any) -> str:
        kind = NOT_KIND.sub("_", str(tag))[:64] or "samples"
        return kind if MEDIA_KIND.match(kind) else "samples"

    def _step(self, key: str, global_step: Any) -> int:
        """The step to record at: global_step, or (without one) the next step of this tag, counted from 0."""
        if global_step is None:
            step = self._steps.get(key, -1) + 1
        else:
            step = int(global_step.item() if hasattr(global_step, "item") else global_step)
        self._steps[key] = step
        self._last_step = max(self._last_step, step)
        return step

    def _skip(self, method: str) -> None:
        self._warn_once(method, f"{method}() is not stored by ganwatch; skipped")

    # ------------------------------------------------------------ recorded

    def get_logdir(self):
        """The log_dir given (no files are written there)."""
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False, double_precision=False):
        name = self._metric(tag)
        self.run.log({name: scalar_value}, step=self._step(name, global_step), wall=_wall(walltime))

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        if not isinstance(tag_scalar_dict, dict):
            raise InputError(f"tag_scalar_dict must be a dict, got {type(tag_scalar_dict).__name__}")
        values = {self._metric(f"{main_tag}/{tag}"): value for tag, value in tag_scalar_dict.items()}
        self.run.log(values, step=self._step(self._metric(main_tag) + "/*", global_step), wall=_wall(walltime))

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        kind = self._kind(tag)
        step = self._step("image:" + kind, global_step)
        self.run.log_image(
            img_tensor,
            epoch=step,
            step=step,
            kind=kind,
            meta={"tag": str(tag)},
            dataformats=dataformats,
            value_range="tensorboard",
        )

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_image_with_boxes(
        self, tag, img_tensor, box_tensor, global_step=None, walltime=None, rescale=1, dataformats="CHW", labels=None
    ):
        self._warn_once("boxes", "add_image_with_boxes() records the image without its boxes")
        self.add_image(tag, img_tensor, global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        figures = figure if isinstance(figure, list) else [figure]
        kind = self._kind(tag)
        step = self._step("image:" + kind, global_step)
        for i, fig in enumerate(figures):
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            if close:
                import matplotlib.pyplot as plt  # a figure implies matplotlib

                plt.close(fig)
            self.run.log_image(
                buffer.getvalue(),
                epoch=step,
                step=step,
                kind=kind if i == 0 else f"{kind}_{i}"[:64],
                meta={"tag": str(tag)},
            )

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        """Text goes to the run's notes (shown on its page), one line per call, newest last."""
        step = self._step("text:" + str(tag), global_step)
        self._texts.append(f"{tag} (step {step}): {text_string}")
        self.run.set_notes("\n".join(self._texts)[-MAX_NOTES_CHARS:])

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default", metadata_header=None):
        """The rows of ``mat`` become the latent codes of epoch ``global_step`` (0 without one); ``metadata`` becomes
        their labels (numbers as they are; names numbered in order of first appearance, the names kept in the
        run's config under embedding/TAG/labels)."""
        if label_img is not None:
            self._warn_once("label_img", "add_embedding() does not store label_img sprites")
        step = 0 if global_step is None else self._step("embedding:" + str(tag), global_step)
        labels = None if metadata is None else self._labels(metadata, metadata_header, str(tag))
        self.run.log_latents(mat, labels=labels, epoch=step, step=step)

    def _labels(self, metadata: Any, header: Any, tag: str) -> list[int]:
        rows = metadata.tolist() if hasattr(metadata, "tolist") else list(metadata)
        if header is not None:  # several columns per row: the first one colours the plot
            rows = [row[0] if isinstance(row, (list, tuple)) else row for row in rows]
        if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in rows):
            return list(rows)
        names = self._label_names.setdefault(tag, [])
        index = {name: i for i, name in enumerate(names)}
        out = []
        for value in rows:
            key = str(value)
            if key not in index:
                index[key] = len(names)
                names.append(key)
            out.append(index[key])
        self.run.update_config({f"embedding/{tag}/labels": list(names)})
        return out

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None):
        """The hyperparameters join the run's config; the metrics are recorded at the latest step."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        self.run.update_config(hparam_dict)
        if metric_dict:
            values = {self._metric(tag): value for tag, value in metric_dict.items()}
            self.run.log(values, step=self._last_step)

    def flush(self):
        """Makes sure everything so far is in the spool on disk; never waits for the network."""
        self.run.flush(timeout=0)

    def close(self):
        """Finishes the run (waits, bounded, for the server to store everything)."""
        if self._owns_run:
            self.run.finish()
        else:
            self.flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if self._owns_run:
            self.run.finish(
                "failed" if exc_type is not None and not issubclass(exc_type, KeyboardInterrupt) else "finished"
            )
        return False

    # ------------------------------------------------------------ accepted, not stored

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        self._skip("add_histogram")

    def add_histogram_raw(
        self, tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts, global_step=None, walltime=None
    ):
        self._skip("add_histogram_raw")

    def add_video(self, tag, vid_tensor, global_step=None, fps=4, walltime=None):
        self._skip("add_video")

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100, walltime=None):
        self._skip("add_audio")

    def add_onnx_graph(self, prototxt):
        self._skip("add_onnx_graph")

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        self._skip("add_graph")

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127, weights=None, walltime=None):
        self._skip("add_pr_curve")

    def add_pr_curve_raw(
        self,
        tag,
        true_positive_counts,
        false_positive_counts,
        true_negative_counts,
        false_negative_counts,
        precision,
        recall,
        global_step=None,
        num_thresholds=127,
        weights=None,
        walltime=None,
    ):
        self._skip("add_pr_curve_raw")

    def add_custom_scalars_multilinechart(self, tags, category="default", title="untitled"):
        self._skip("add_custom_scalars_multilinechart")

    def add_custom_scalars_marginchart(self, tags, category="default", title="untitled"):
        self._skip("add_custom_scalars_marginchart")

    def add_custom_scalars(self, layout):
        self._skip("add_custom_scalars")

    def add_mesh(self, tag, vertices, colors=None, faces=None, config_dict=None, global_step=None, walltime=None):
        self._skip("add_mesh")


def _wall(walltime: Any) -> float | None:
    return None if walltime is None else check_wall(walltime)
