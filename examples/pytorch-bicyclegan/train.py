"""Trains BicycleGAN in PyTorch, watched by ganwatch: every step pushes the metrics ganwatch's alerts read (the names
the TypeScript trainer pushes), every validation a sample grid, val/* metrics and the encoder's μ codes with their
classes; the controls sent from the dashboard, the API or an alert's Apply (learning rates, λs, clipping, pause,
resume, stop, checkpoint) are applied between two steps.

    npm run dataset -- synthetic --size 32 --out data/synth32        # the synthetic palettes set as PNG pairs
    python3 examples/pytorch-bicyclegan/train.py --dataset data/synth32 --size 32 --ngf 16 --nef 16 --ndf 16 \\
        --val-every 1 --name torch-synth32
    python3 examples/pytorch-bicyclegan/train.py --dataset /data/facades --direction BtoA --size 256 --batch 2

Bad options and datasets are reported in one line with a GW_ERR_* code (exit code 2), before any run is created."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import ganwatch
except ImportError:  # not pip-installed: use the client of this checkout
    sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))
    import ganwatch

from bicyclegan import Options, BicycleGAN  # noqa: E402
from data import DatasetError, open_dataset  # noqa: E402
from evaluation import Validator  # noqa: E402

SIZES = (32, 64, 128, 256)
SHOWN = ("loss/D", "loss/D2", "loss/G_total", "D_real_acc", "lr/D")  # on the printed step lines


class OptionError(Exception):
    def __init__(self, detail: str):
        super().__init__(detail)
        self.code, self.message = "GW_ERR_OPTION", f"Invalid option: {detail}"


class CheckpointError(Exception):
    def __init__(self, path: str, detail: str):
        super().__init__(detail)
        self.code, self.message = "GW_ERR_CHECKPOINT", f"Checkpoint '{path}': {detail}"


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own errors in the same one-line shape as every other
        raise OptionError(f"{message} (see --help)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = Parser(prog="train.py", description="BicycleGAN in PyTorch, watched by ganwatch.")
    add = p.add_argument
    add("--dataset", required=True, help="pix2pix aligned folder (train/, val/ or test/), or npm run dataset's")
    add("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    add("--no-flip", action="store_true", help="no random horizontal flip when training")
    add("--size", type=int, default=256, help="image side: 32, 64, 128 or 256")
    add("--batch", type=int, default=16, help="batch size (even: it splits in halves for the two branches)")
    for net in ("ngf", "nef", "ndf"):
        add(f"--{net}", type=int, default=64)
    add("--nz", type=int, default=8)
    add("--where-add", choices=("all", "input"), default="all")
    add("--gan-mode", choices=("vanilla", "lsgan"), default="vanilla")
    add("--no-dropout", action="store_true")
    add("--lambda-adv", type=float, default=1.0)
    add("--lambda-cyc", type=float, default=10.0)
    add("--lambda-latent", type=float, default=0.5)
    add("--lambda-kl", type=float, default=0.01)
    add("--lr-g", type=float, default=2e-4)
    add("--lr-e", type=float, default=2e-4)
    add("--lr-d", type=float, default=1e-4, help="D and D2")
    add("--beta1", type=float, default=0.5)
    add("--beta2", type=float, default=0.999)
    add("--epsilon", type=float, default=1e-8)
    add("--niter", type=int, default=0, help="constant lr for N epochs, then linear decay over --niter-decay")
    add("--niter-decay", type=int, default=0, help="epochs of linear lr decay (0: no decay)")
    add("--clip", type=float, default=0.0, help="global gradient-norm clipping (0: off)")
    add("--epochs", type=int, default=200)
    add("--steps-per-epoch", type=int, default=0, help="cap on steps per epoch (0: the whole training split)")
    add("--max-steps", type=int, default=0, help="stop after N steps in total (0: no limit)")
    add("--seed", type=int, default=0)
    add("--val-every", type=int, default=5, help="validate every N epochs")
    add("--val-count", type=int, default=8, help="validation inputs in the grid")
    add("--val-z", type=int, default=4, help="random z per validation input")
    add("--latent-count", type=int, default=256, help="validation targets whose codes are pushed (0: none)")
    add("--patience", type=int, default=20, help="stop after N validations without a better val/L1 (0: never)")
    add("--name")
    add("--tags", default="", help="comma-separated")
    add("--alerts", help='the run\'s alert settings as JSON, e.g. \'{"auto_apply": true}\'')
    add("--server", help="ganwatch server (default $GANWATCH_SERVER or http://127.0.0.1:8080)")
    add("--token", help="write token (default $GANWATCH_TOKEN)")
    add("--offline", action="store_true", help="no server: keep everything in the spool (python -m ganwatch sync)")
    add("--spool", default=".ganwatch-spool")
    add("--checkpoint-dir", help="default checkpoints/RUN_ID")
    add("--checkpoint-every", type=int, default=5, help="save latest.pt every N epochs (0: only at the end)")
    add("--resume", help="continue the run saved in this checkpoint (latest.pt or its folder)")
    add("--device", default="auto", help="auto, cpu or cuda[:N]")
    add("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    add("--print-every", type=int, default=50, help="print a step line every N steps")
    args = p.parse_args(argv)
    check_args(args)
    return args


def check_args(a: argparse.Namespace) -> None:
    def need(ok: bool, flag: str, must: str, got) -> None:
        if not ok:
            raise OptionError(f"{flag} {must}, got {got!r}")

    need(a.size in SIZES, "--size", f"must be one of {', '.join(map(str, SIZES))}", a.size)
    need(a.batch >= 2 and a.batch % 2 == 0, "--batch", "must be even and at least 2", a.batch)
    for flag in ("ngf", "nef", "nz"):
        need(getattr(a, flag) >= 1, f"--{flag}", "must be at least 1", getattr(a, flag))
    need(a.ndf >= 2, "--ndf", "must be at least 2", a.ndf)
    for flag in ("lambda_adv", "lambda_cyc", "lambda_latent", "lambda_kl", "lr_g", "lr_e", "lr_d", "clip"):
        value = getattr(a, flag)
        need(math.isfinite(value) and value >= 0, "--" + flag.replace("_", "-"), "must be a finite number >= 0", value)
    need(0 <= a.beta1 < 1 and 0 <= a.beta2 < 1, "--beta1/--beta2", "must be in [0, 1)", (a.beta1, a.beta2))
    need(a.epsilon > 0, "--epsilon", "must be > 0", a.epsilon)
    counts = ("niter", "niter_decay", "steps_per_epoch", "max_steps", "latent_count", "patience", "checkpoint_every")
    for flag in counts:
        need(getattr(a, flag) >= 0, "--" + flag.replace("_", "-"), "must be an integer >= 0", getattr(a, flag))
    for flag in ("epochs", "val_every", "val_count", "val_z", "print_every"):
        need(getattr(a, flag) >= 1, "--" + flag.replace("_", "-"), "must be an integer >= 1", getattr(a, flag))
    if a.alerts is not None:
        try:
            a.alerts = json.loads(a.alerts)
        except ValueError as err:
            raise OptionError(f"--alerts is not JSON: {err}") from None
        need(isinstance(a.alerts, dict), "--alerts", "must be a JSON object", a.alerts)
    a.tags = [t for t in (s.strip() for s in a.tags.split(",")) if t]


# ---------------------------------------------------------------- the loop


@dataclass
class Position:
    """Where training is: what a checkpoint records and a resumed run continues from."""

    step: int = 0
    epoch: int = 1
    batch_in_epoch: int = 0
    last_val_step: int = -1
    best_l1: float | None = None
    since_best: int = 0
    extra: dict = field(default_factory=dict)


def batch_generator(seed: int, epoch: int, index: int = -1) -> torch.Generator:
    """The data order of an epoch (index -1) and each batch's crops and flips: a pure function of (seed, epoch, batch),
    so a run resumed inside an epoch draws what the uninterrupted run would have."""
    return torch.Generator().manual_seed(((seed * 1_000_003 + epoch) * 1_000_003 + index + 1) % 2**63)


def decay_factor(epoch: int, niter: int, niter_decay: int) -> float:
    """lr factor of epoch e (from 1): 1 − max(0, e − niter)/(niter_decay + 1), as the official 'linear' policy."""
    return 1.0 if niter_decay <= 0 else max(0.0, 1 - max(0, epoch - niter) / (niter_decay + 1))


def fmt(v: float) -> str:
    return f"{v:.4g}"


class Trainer:
    def __init__(self, args: argparse.Namespace, device: torch.device):
        self.args = args
        data = open_dataset(args.dataset, args.size, args.direction, not args.no_flip)
        self.train_set, self.val_set, self.manifest = data
        self.per_epoch = len(self.train_set) // args.batch
        if args.steps_per_epoch:
            self.per_epoch = min(self.per_epoch, args.steps_per_epoch)
        if self.per_epoch < 1:
            raise OptionError(f"--batch {args.batch} is larger than the {len(self.train_set)} training pairs")
        self.model = BicycleGAN(
            Options(
                size=args.size, nz=args.nz, ngf=args.ngf, nef=args.nef, ndf=args.ndf, where_add=args.where_add,
                gan_mode=args.gan_mode, use_dropout=not args.no_dropout, lambda_adv=args.lambda_adv,
                lambda_cyc=args.lambda_cyc, lambda_latent=args.lambda_latent, lambda_kl=args.lambda_kl,
                lr_g=args.lr_g, lr_e=args.lr_e, lr_d=args.lr_d, beta1=args.beta1, beta2=args.beta2,
                epsilon=args.epsilon,
            ),
            device,
        )  # fmt: skip
        # Linear decay stepped per epoch; controls that change an lr also rescale these schedulers' base lrs.
        self.schedulers = [
            torch.optim.lr_scheduler.LambdaLR(
                opt, lambda done: decay_factor(done + 1, args.niter, args.niter_decay)
            )
            for opt in self.model.optimizers.values()
        ]
        palettes = self.manifest["palettes"] if self.manifest else None
        self.validator = Validator(
            self.val_set, args.nz, args.val_count, args.val_z, args.latent_count, args.seed, palettes
        )
        self.pos = Position()
        self.run = None
        self.checkpoint_dir = args.checkpoint_dir

    # ------------------------------------------------------------ checkpoints

    def save_checkpoint(self, step=None) -> str:
        os.makedirs(self.checkpoint_dir, exist_ok=True)
        path = os.path.join(self.checkpoint_dir, "latest.pt")
        state = {
            "model": self.model.state(),
            "schedulers": [s.state_dict() for s in self.schedulers],
            "position": self.pos.__dict__,
            "torch_rng": torch.get_rng_state(),
            "max_norm": self.run.max_norm if self.run else self.args.clip,
            "run_id": self.run.id if self.run else None,
        }
        torch.save(state, path + ".tmp")
        os.replace(path + ".tmp", path)  # a crash while saving leaves the previous checkpoint whole
        return path

    def load_checkpoint(self, path: str) -> dict:
        file = os.path.join(path, "latest.pt") if os.path.isdir(path) else path
        try:
            state = torch.load(file, map_location=self.model.device)
            self.model.load_state(state["model"])
            for sched, s in zip(self.schedulers, state["schedulers"]):
                sched.load_state_dict(s)
            self.pos = Position(**state["position"])
            torch.set_rng_state(state["torch_rng"])
        except Exception as err:  # noqa: BLE001 -- any file can be given: say what is wrong with it, no trace
            raise CheckpointError(path, f"{type(err).__name__}: {err}") from None
        self.checkpoint_dir = self.checkpoint_dir or os.path.dirname(os.path.abspath(file))
        return state

    # ------------------------------------------------------------ training

    def train(self, run) -> str:
        self.run = run
        a, pos, model = self.args, self.pos, self.model
        opts = model.optimizers
        controls = {  # what ganwatch's controls change: 'D' covers both discriminators
            "optimizers": {"G": opts["G"], "E": opts["E"], "D": [opts["D"], opts["D2"]]},
            "lambdas": model.lambdas,
            "schedulers": self.schedulers,
            "on_checkpoint": self.save_checkpoint,
        }
        while pos.epoch <= a.epochs:
            order = torch.randperm(len(self.train_set), generator=batch_generator(a.seed, pos.epoch)).tolist()
            while pos.batch_in_epoch < self.per_epoch:
                for result in run.apply_controls(**controls, step=pos.step):
                    outcome = result.message if result.ok else f"refused: {result.message}"
                    print(f"control #{result.id} {result.action}: {outcome}", flush=True)
                if run.should_stop:
                    return f"stopped by a control after step {pos.step}"
                t0 = time.perf_counter()
                i = pos.batch_in_epoch
                batch = order[i * a.batch : (i + 1) * a.batch]
                real_a, real_b = self.train_set.batch(batch, batch_generator(a.seed, pos.epoch, i))
                metrics = model.train_step(real_a.to(model.device), real_b.to(model.device), run.max_norm)
                pos.step += 1
                pos.batch_in_epoch += 1
                ms = (time.perf_counter() - t0) * 1000
                metrics["perf/step_ms"] = ms
                metrics["perf/images_per_s"] = len(batch) / (ms / 1000)
                run.log(metrics, step=pos.step)
                if pos.step % a.print_every == 0:
                    shown = "  ".join(f"{k} {fmt(metrics[k])}" for k in SHOWN)
                    print(f"step {pos.step}  epoch {pos.epoch}  {shown}  {ms:.0f} ms", flush=True)
                if a.max_steps and pos.step >= a.max_steps:
                    return f"reached --max-steps {a.max_steps}"
            done = pos.epoch
            pos.epoch, pos.batch_in_epoch = pos.epoch + 1, 0
            for sched in self.schedulers:
                sched.step()
            if done % a.val_every == 0 and self.validate(done, scheduled=True):
                return f"early stop: val/L1 did not improve for {a.patience} validations (best {fmt(pos.best_l1)})"
            if a.checkpoint_every and done % a.checkpoint_every == 0 and done < a.epochs:
                self.save_checkpoint()
        return f"completed {a.epochs} epochs"

    def validate(self, epoch: int, scheduled: bool) -> bool:
        """Validates, pushes the results, and returns True when early stopping says stop."""
        pos, run = self.pos, self.run
        out = self.validator.run(self.model)
        pos.last_val_step = pos.step
        run.log(out.metrics, step=pos.step)
        meta = {**out.meta, "epoch": epoch, "step": pos.step}
        run.log_image(out.grid, epoch=epoch, step=pos.step, kind="samples", meta=meta)
        if out.codes is not None:
            run.log_latents(out.codes, labels=out.code_labels, epoch=epoch, step=pos.step)
        shown = "  ".join(f"{k} {fmt(v)}" for k, v in out.metrics.items())
        print(f"validation epoch {epoch} (step {pos.step}): {shown}", flush=True)
        if not scheduled:
            return False
        l1 = out.metrics["val/L1"]
        if pos.best_l1 is None or l1 < pos.best_l1:
            pos.best_l1, pos.since_best = l1, 0
        else:
            pos.since_best += 1
        return self.args.patience > 0 and pos.since_best >= self.args.patience


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            device = torch.device(args.device)
        except RuntimeError as err:
            raise OptionError(f"--device {args.device!r}: {err}") from None
    trainer = Trainer(args, device)  # the dataset is checked before any run exists
    resumed = trainer.load_checkpoint(args.resume) if args.resume else None
    config = {k: v for k, v in vars(args).items() if k not in ("token", "alerts", "resume")}
    config.update(
        trainer="examples/pytorch-bicyclegan",
        ganMode=args.gan_mode,  # the server's alerts read the GAN loss from this key (D loss at equilibrium)
        params=trainer.model.param_counts(),
        train_pairs=len(trainer.train_set),
        val_pairs=len(trainer.val_set),
        classes=len(trainer.manifest["palettes"]) if trainer.manifest else None,
    )
    with ganwatch.init(
        name=args.name,
        config=config,
        tags=args.tags,
        server=args.server,
        token=args.token,
        alerts=args.alerts,
        resume=resumed["run_id"] if resumed else None,
        spool=args.spool,
        offline=args.offline,
    ) as run:
        run.max_norm = resumed["max_norm"] if resumed else args.clip
        trainer.checkpoint_dir = trainer.checkpoint_dir or os.path.join("checkpoints", run.id)
        print(f"run {run.id}: {run.url or 'offline, spooled in ' + args.spool}", flush=True)
        print(f"params {trainer.model.param_counts()}  {trainer.per_epoch} steps per epoch", flush=True)
        try:
            why = trainer.train(run)
        except KeyboardInterrupt:
            why = f"interrupted after step {trainer.pos.step}"
        pos = trainer.pos
        if pos.step > 0 and pos.last_val_step != pos.step:
            trainer.validate(pos.epoch - 1 if pos.batch_in_epoch == 0 else pos.epoch, scheduled=False)
        saved = trainer.save_checkpoint() if pos.step > 0 else None
        print(f"done: {why}; checkpoint {saved}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OptionError, DatasetError, CheckpointError, ganwatch.GanwatchError) as err:
        print(f"train.py: {err.code}: {err.message}", file=sys.stderr)
        sys.exit(2)
