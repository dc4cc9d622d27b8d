"""Controls from the dashboard, the API or an alert's remedy, applied to a PyTorch trainer between two steps: learning
rates on optimizer param groups (and the schedulers over them), loss weights on a dict or on attributes (the names
the official BicycleGAN code uses, or the protocol's), gradient clipping, pause, resume, stop, checkpoint, and rollback
(the trainer's callback restores a checkpoint; run.py then applies the overrides and moves the run to a child run).
Every control is answered with its result and the step, as the Node trainer answers (trainer/controls.ts)."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

NETS = ("G", "E", "D", "D2")
LAMBDAS = ("adv", "cyc", "latent", "kl")
ARGS = {
    "set_lr": {"net", "value"},
    "scale_lr": {"net", "factor"},
    "set_lambda": {"name", "value"},
    "scale_lambda": {"name", "factor"},
    "set_clip": {"max_norm"},
    "pause": set(),
    "resume": set(),
    "stop": set(),
    "checkpoint": set(),
    "rollback": {"checkpoint"},  # required; its optional keys are ROLLBACK_OPTIONAL
}
ROLLBACK_CHECKPOINTS = ("latest", "best")
ROLLBACK_OPTIONAL = frozenset(("lr", "lr_factor", "lambda", "max_norm"))
MODEL_ACTIONS = frozenset(("set_lr", "scale_lr", "set_lambda", "scale_lambda", "set_clip"))
# Where a λ may live, in order of preference: the protocol's name, lambda_<name>, then the official BicycleGAN code's
# option names (lambda_GAN weighs D's loss and lambda_GAN2 D2's: λ_adv covers both, as net D covers D2).
LAMBDA_KEYS = {
    "adv": (("adv",), ("lambda_adv",), ("lambda_GAN", "lambda_GAN2")),
    "cyc": (("cyc",), ("lambda_cyc",), ("lambda_L1",)),
    "latent": (("latent",), ("lambda_latent",), ("lambda_z",)),
    "kl": (("kl",), ("lambda_kl",)),
}


@dataclass(frozen=True)
class ControlResult:
    """One control handled by apply_controls(), as answered to the server."""

    id: int
    action: str
    args: dict = field(default_factory=dict)
    ok: bool = True
    step: int = 0
    message: str = ""


class ControlFailed(Exception):
    """A control this trainer cannot apply (its message is the answer)."""


def not_understood(control: Mapping) -> str | None:
    """Why a control from the server cannot be applied as sent, or None when its shape is right."""
    action = control.get("action")
    args = control.get("args")
    optional = ROLLBACK_OPTIONAL if action == "rollback" else frozenset()
    if action not in ARGS or not isinstance(args, dict) or not ARGS[action] <= set(args) <= ARGS[action] | optional:
        return f"this trainer does not understand control '{action}' with these arguments"
    if action == "rollback":
        return _rollback_problem(args)
    if "net" in args and args["net"] not in NETS:
        return f"unknown net '{args['net']}'"
    if "name" in args and args["name"] not in LAMBDAS:
        return f"unknown lambda '{args['name']}'"
    for key in ("value", "factor", "max_norm"):
        if key in args and (isinstance(args[key], bool) or not isinstance(args[key], (int, float))):
            return f"control argument {key} must be a number"
    return None


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _rollback_problem(args: dict) -> str | None:
    if args["checkpoint"] not in ROLLBACK_CHECKPOINTS:
        return f"unknown checkpoint '{args['checkpoint']}' (latest or best)"
    for key, names in (("lr", NETS), ("lambda", LAMBDAS)):
        given = args.get(key, {})
        if not isinstance(given, dict) or any(k not in names or not _is_number(v) for k, v in given.items()):
            return f"rollback {key} must map {', '.join(names)} to numbers"
    for key in ("lr_factor", "max_norm"):
        if key in args and not _is_number(args[key]):
            return f"control argument {key} must be a number"
    return None


@dataclass(frozen=True)
class Rollback:
    """What a rollback control asks for, as the on_rollback callback of apply_controls() receives it."""

    checkpoint: str
    """'latest' (the last checkpoint saved) or 'best' (the one of the best validation)."""
    lr: dict = field(default_factory=dict)
    lr_factor: float | None = None
    lambdas: dict = field(default_factory=dict)
    max_norm: float | None = None


def call_rollback(on_rollback: Callable | None, request: Rollback) -> int:
    """Calls the trainer's restore function with the checkpoint's name; it returns the step that checkpoint was saved
    after (the fork step)."""
    if on_rollback is None:
        raise ControlFailed("this trainer has no rollback function (apply_controls(on_rollback=...))")
    step = on_rollback(request.checkpoint)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ControlFailed(
            f"on_rollback returned {step!r:.40}: it must return the step of the checkpoint it restored (an int >= 0)"
        )
    return step


def fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e15 else f"{number:.6g}"


# ---------------------------------------------------------------- learning rates


def _optimizers_for(optimizers: Mapping | None, net: str) -> list[tuple[str, Any]]:
    """The optimizers that net ``net`` names ('D' covers D and D2), each with the net it belongs to."""
    if not optimizers:
        raise ControlFailed("no optimizers were given to apply_controls(optimizers={'G': ..., 'D': ...})")
    names = ("D", "D2") if net == "D" else (net,)
    found: list[tuple[str, Any]] = []
    for name in names:
        given = optimizers.get(name)
        if given is None:
            continue
        # A list under one name holds that net and its twins: 'D': [opt_D, opt_D2] names them D and D2.
        for i, opt in enumerate(given if isinstance(given, (list, tuple)) else [given]):
            if not isinstance(getattr(opt, "param_groups", None), list):
                raise ControlFailed(f"optimizers['{name}'] has no param_groups (expected a torch.optim optimizer)")
            found.append((name if i == 0 else f"{name}{i + 1}", opt))
    if not found:
        raise ControlFailed(
            f"no optimizer for net {net} (apply_controls got {', '.join(sorted(optimizers)) or 'none'})"
        )
    return found


def change_lr(
    optimizers: Mapping | None, schedulers: Iterable | None, net: str, value: float | None, factor: float | None
) -> tuple[list[str], float, dict[str, float]]:
    """Sets (value) or scales (factor) the lr of every param group of the net's optimizers. A scheduler over one of
    them has its base lrs changed by the same ratio, so its next step keeps the new level. Returns the nets changed,
    the new lr of the first group, and each net's new lr (for the lr/* metrics)."""
    targets = _optimizers_for(optimizers, net)
    scheds = [s for s in (schedulers or []) if hasattr(s, "optimizer")]
    new_lrs: dict[str, float] = {}
    for name, opt in targets:
        for i, group in enumerate(opt.param_groups):
            old = float(group["lr"])
            new = float(value) if value is not None else old * float(factor)  # type: ignore[arg-type]
            group["lr"] = new
            ratio = new / old if old > 0 else None
            if "initial_lr" in group:
                group["initial_lr"] = group["initial_lr"] * ratio if ratio is not None else new
            for sched in scheds:
                base = getattr(sched, "base_lrs", None)
                if sched.optimizer is opt and isinstance(base, list) and i < len(base):
                    base[i] = base[i] * ratio if ratio is not None else new
            new_lrs.setdefault(name, new)
    nets = list(dict.fromkeys(name for name, _ in targets))
    return nets, next(iter(new_lrs.values())), new_lrs


# ---------------------------------------------------------------- loss weights


def _has(target: Any, key: str) -> bool:
    return key in target if isinstance(target, Mapping) else hasattr(target, key)


def _get(target: Any, key: str) -> float:
    value = target[key] if isinstance(target, Mapping) else getattr(target, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlFailed(f"lambda {key} is {type(value).__name__}, not a number")
    return float(value)


def _set(target: Any, key: str, value: float) -> None:
    if isinstance(target, Mapping):
        target[key] = value  # type: ignore[index]
    else:
        setattr(target, key, value)


def lambda_keys(lambdas: Any, name: str) -> list[str]:
    """The keys (or attributes) of ``lambdas`` that hold λ ``name``."""
    if lambdas is None:
        raise ControlFailed("no loss weights were given to apply_controls(lambdas=...)")
    for group in LAMBDA_KEYS[name]:
        keys = [key for key in group if _has(lambdas, key)]
        if keys:
            return keys
    options = " or ".join(key for group in LAMBDA_KEYS[name] for key in group)
    raise ControlFailed(f"lambdas has no {options}")


def change_lambda(lambdas: Any, name: str, value: float | None, factor: float | None) -> tuple[list[str], float]:
    keys = lambda_keys(lambdas, name)
    new = float(value) if value is not None else _get(lambdas, keys[0]) * float(factor)  # type: ignore[arg-type]
    for key in keys:
        _get(lambdas, key)  # refuses a non-number before anything changes
    for key in keys:
        _set(lambdas, key, new)
    return keys, new


# ---------------------------------------------------------------- checkpoints


def call_checkpoint(on_checkpoint: Callable | None, step: int) -> Any:
    """Calls the trainer's checkpoint function, with the step when it has a required positional parameter."""
    if on_checkpoint is None:
        raise ControlFailed("this trainer has no checkpoint function (apply_controls(on_checkpoint=...))")
    try:
        takes_step = any(
            p.kind == p.VAR_POSITIONAL
            or (p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty)
            for p in inspect.signature(on_checkpoint).parameters.values()
        )
    except (TypeError, ValueError):  # builtins without a signature
        takes_step = False
    return on_checkpoint(step) if takes_step else on_checkpoint()
