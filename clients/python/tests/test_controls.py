"""Specification of Run.apply_controls(): controls issued from the API (as the dashboard and an alert's Apply issue
them) reach a real PyTorch trainer, change its Adam param groups, loss weights and clipping, pause, stop and
checkpoint it, and each is answered: status pending → sent → applied|failed with the step and a message, as with the
Node trainer's WebSocket."""

from __future__ import annotations

import argparse
import os
import signal
import threading
import unittest

from support import (  # first: sys.path
    HAVE_TORCH,
    WAIT,
    Server,
    end_child,
    needs_torch,
    python_child,
    read_report,
    shared_server,
    temp_dir,
    until,
)

import ganwatch

if HAVE_TORCH:
    import torch
    from torch import nn


class Trainer:
    """A small real model trained the way BicycleGAN is: four Adam optimizers, G (two param groups), E, D and D2."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.nets = {name: nn.Linear(4, 4) for name in ("G", "E", "D", "D2")}
        g = self.nets["G"]
        self.opts = {
            "G": torch.optim.Adam(
                [{"params": [g.weight]}, {"params": [g.bias], "lr": 1e-3}], lr=2e-4, betas=(0.5, 0.999)
            ),
            "E": torch.optim.Adam(self.nets["E"].parameters(), lr=2e-4, betas=(0.5, 0.999)),
            "D": torch.optim.Adam(self.nets["D"].parameters(), lr=1e-4, betas=(0.5, 0.999)),
            "D2": torch.optim.Adam(self.nets["D2"].parameters(), lr=1e-4, betas=(0.5, 0.999)),
        }
        self.steps = 0

    def loss(self) -> torch.Tensor:
        x = torch.randn(8, 4)
        return sum((net(x) ** 2).mean() for net in self.nets.values())

    def step(self) -> float:
        for opt in self.opts.values():
            opt.zero_grad()
        loss = self.loss()
        loss.backward()
        for opt in self.opts.values():
            opt.step()
        self.steps += 1
        return float(loss)

    @property
    def given(self) -> dict:
        """The optimizers as apply_controls takes them: D covers D and D2."""
        return {"G": self.opts["G"], "E": self.opts["E"], "D": [self.opts["D"], self.opts["D2"]]}


def train_until_answered(run, trainer, control_id: int, **kwargs) -> ganwatch.ControlResult:
    """Trains step by step, logging and applying controls, until the control ``control_id`` has been handled."""

    def one_step():
        run.log({"loss": trainer.step()}, step=trainer.steps)
        return next((r for r in run.apply_controls(**kwargs) if r.id == control_id), None)

    return until(one_step, f"control {control_id} to reach the trainer")


def issue(server, run_id: str, action: str, **args) -> dict:
    status, control = server.api("POST", f"/runs/{run_id}/controls", {"action": action, "args": args})
    assert status == 201, control
    return control


def stored_control(server, run, control_id: int) -> dict:
    assert run.flush(WAIT), "the answer did not reach the server"
    controls = server.api("GET", f"/runs/{run.id}/controls")[1]["controls"]
    return next(c for c in controls if c["id"] == control_id)


@needs_torch
class ModelControlsTest(unittest.TestCase):
    def setUp(self):
        self.server = shared_server()
        self.gw = ganwatch.init(name="controls", server=self.server.url, spool=temp_dir())
        self.trainer = Trainer()

    def tearDown(self):
        self.gw.finish(timeout=WAIT)

    def test_set_lr_sets_every_param_group_of_the_nets_optimizer_and_is_answered_applied(self):
        control = issue(self.server, self.gw.id, "set_lr", net="G", value=5e-5)
        result = train_until_answered(self.gw, self.trainer, control["id"], optimizers=self.trainer.given)
        self.assertEqual([g["lr"] for g in self.trainer.opts["G"].param_groups], [5e-5, 5e-5])
        self.assertEqual(self.trainer.opts["E"].param_groups[0]["lr"], 2e-4)
        self.assertTrue(result.ok)
        self.assertEqual(result.step, self.trainer.steps + 1)
        stored = stored_control(self.server, self.gw, control["id"])
        self.assertEqual((stored["status"], stored["result_step"]), ("applied", result.step))
        self.assertEqual(stored["message"], f"lr G = 5e-05 from step {result.step}")
        series = self.server.api("GET", f"/runs/{self.gw.id}/series?metric=lr/G")[1]["points"]
        self.assertEqual([p[:2] for p in series], [[result.step, 5e-5]])

    def test_scale_lr_of_D_scales_both_discriminators(self):
        control = issue(self.server, self.gw.id, "scale_lr", net="D", factor=0.5)
        result = train_until_answered(self.gw, self.trainer, control["id"], optimizers=self.trainer.given)
        self.assertEqual(self.trainer.opts["D"].param_groups[0]["lr"], 5e-5)
        self.assertEqual(self.trainer.opts["D2"].param_groups[0]["lr"], 5e-5)
        self.assertEqual(result.message, f"lr D and D2 ×0.5 = 5e-05 from step {result.step}")

    def test_an_lr_scheduler_over_the_optimizer_keeps_the_new_level(self):
        opt = self.trainer.opts["D"]
        decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 - epoch / 10)
        control = issue(self.server, self.gw.id, "scale_lr", net="D", factor=0.5)
        train_until_answered(self.gw, self.trainer, control["id"], optimizers=self.trainer.given, schedulers=[decay])
        decay.step()  # epoch 1: 0.9 of the base lr, which the control halved
        self.assertAlmostEqual(opt.param_groups[0]["lr"], 1e-4 * 0.5 * 0.9, places=12)

    def test_set_lambda_on_a_dict_with_the_official_names(self):
        lambdas = {"lambda_GAN": 1.0, "lambda_GAN2": 1.0, "lambda_L1": 10.0, "lambda_z": 0.5, "lambda_kl": 0.01}
        control = issue(self.server, self.gw.id, "set_lambda", name="cyc", value=20)
        result = train_until_answered(self.gw, self.trainer, control["id"], lambdas=lambdas)
        self.assertEqual(lambdas["lambda_L1"], 20.0)
        self.assertEqual(result.message, f"lambda cyc (lambda_L1) = 20 from step {result.step}")

    def test_scale_lambda_on_attributes_of_an_options_object(self):
        opt = argparse.Namespace(lambda_GAN=1.0, lambda_GAN2=1.0, lambda_L1=10.0, lambda_z=0.5, lambda_kl=0.01)
        control = issue(self.server, self.gw.id, "scale_lambda", name="adv", factor=2)
        train_until_answered(self.gw, self.trainer, control["id"], lambdas=opt)
        self.assertEqual((opt.lambda_GAN, opt.lambda_GAN2, opt.lambda_L1), (2.0, 2.0, 10.0))

    def test_scale_lambda_on_a_dict_with_the_protocols_names(self):
        lambdas = {"adv": 1.0, "cyc": 10.0, "latent": 0.5, "kl": 0.01}
        control = issue(self.server, self.gw.id, "scale_lambda", name="latent", factor=2)
        result = train_until_answered(self.gw, self.trainer, control["id"], lambdas=lambdas)
        self.assertEqual(lambdas["latent"], 1.0)
        self.assertEqual(result.message, f"lambda latent ×2 = 1 from step {result.step}")

    def test_set_clip_sets_max_norm_and_clip_gradients_clips_to_it(self):
        params = list(self.trainer.nets["G"].parameters())
        self.assertIsNone(self.gw.clip_gradients(params))  # the loop clips: off until a set_clip
        control = issue(self.server, self.gw.id, "set_clip", max_norm=0.01)
        train_until_answered(self.gw, self.trainer, control["id"])
        self.assertEqual(self.gw.max_norm, 0.01)
        loss = self.trainer.loss()
        loss.backward()
        self.assertGreater(float(self.gw.clip_gradients(params)), 0.01)
        after = torch.norm(torch.stack([p.grad.norm() for p in params]))
        self.assertLessEqual(float(after), 0.01 * 1.0001)

    def test_set_clip_is_refused_by_a_loop_that_never_calls_clip_gradients(self):
        control = issue(self.server, self.gw.id, "set_clip", max_norm=0.01)
        result = train_until_answered(self.gw, self.trainer, control["id"])
        self.assertFalse(result.ok)
        self.assertEqual(self.gw.max_norm, 0.0)
        stored = stored_control(self.server, self.gw, control["id"])
        self.assertEqual(
            (stored["status"], stored["message"]),
            ("failed", "this training loop does not clip: call run.clip_gradients(parameters) after backward()"),
        )

    def test_a_control_the_trainer_cannot_apply_is_answered_failed_with_the_reason(self):
        control = issue(self.server, self.gw.id, "set_lr", net="E", value=1e-5)
        result = train_until_answered(self.gw, self.trainer, control["id"], optimizers={"G": self.trainer.opts["G"]})
        self.assertFalse(result.ok)
        stored = stored_control(self.server, self.gw, control["id"])
        self.assertEqual(stored["status"], "failed")
        self.assertEqual(stored["message"], "no optimizer for net E (apply_controls got G)")

    def test_checkpoint_calls_the_function_with_the_step_and_reports_what_it_saved(self):
        saved = []

        def save(step):
            saved.append(step)
            return f"/ckpt/step-{step}.pt"

        control = issue(self.server, self.gw.id, "checkpoint")
        result = train_until_answered(self.gw, self.trainer, control["id"], on_checkpoint=save)
        self.assertEqual(saved, [self.trainer.steps])
        self.assertEqual(result.message, f"saved /ckpt/step-{self.trainer.steps}.pt after step {self.trainer.steps}")
        self.assertEqual(result.step, self.trainer.steps)

    def test_checkpoint_without_a_function_is_answered_failed(self):
        control = issue(self.server, self.gw.id, "checkpoint")
        result = train_until_answered(self.gw, self.trainer, control["id"])
        self.assertFalse(result.ok)
        self.assertIn("on_checkpoint", result.message)


@needs_torch
class RunControlsTest(unittest.TestCase):
    def setUp(self):
        self.server = shared_server()
        self.gw = ganwatch.init(name="run-controls", server=self.server.url, spool=temp_dir())
        self.trainer = Trainer()
        self.handled: list[ganwatch.ControlResult] = []
        self.loop = threading.Thread(target=self.train, daemon=True)

    def train(self):
        while not self.gw.should_stop:
            self.gw.log({"loss": self.trainer.step()}, step=self.trainer.steps)
            self.handled += self.gw.apply_controls(optimizers=self.trainer.given)

    def control(self, control_id: int) -> dict:
        return until(
            lambda: next(
                (
                    c
                    for c in self.server.api("GET", f"/runs/{self.gw.id}/controls")[1]["controls"]
                    if c["id"] == control_id and c["status"] in ("applied", "failed")
                ),
                None,
            ),
            f"control {control_id} to be answered",
        )

    def status(self) -> str:
        return self.server.api("GET", f"/runs/{self.gw.id}")[1]["status"]

    def test_pause_holds_the_trainer_until_resume_and_no_step_runs_in_between(self):
        self.loop.start()
        pause = self.control(issue(self.server, self.gw.id, "pause")["id"])
        self.assertEqual(pause["status"], "applied")
        until(lambda: self.status() == "paused", "the run to show paused")
        self.assertTrue(self.gw.paused)
        resume = self.control(issue(self.server, self.gw.id, "resume")["id"])
        self.assertEqual(resume["status"], "applied")
        self.assertEqual(resume["result_step"], pause["result_step"])  # the step counter did not move while paused
        until(lambda: self.trainer.steps > resume["result_step"] + 1, "training to go on")
        until(lambda: self.status() == "running", "the run to show running again")
        issue(self.server, self.gw.id, "stop")
        self.loop.join(60)

    def test_stop_sets_should_stop_and_the_loop_ends(self):
        self.loop.start()
        stop = self.control(issue(self.server, self.gw.id, "stop")["id"])
        self.loop.join(60)
        self.assertFalse(self.loop.is_alive())
        self.assertTrue(self.gw.should_stop)
        self.assertEqual(stop["message"], f"stopping after step {stop['result_step']}")
        self.assertTrue(self.gw.finish(timeout=WAIT))
        self.assertEqual(self.status(), "finished")

    def test_stop_while_paused_releases_the_trainer(self):
        self.loop.start()
        self.control(issue(self.server, self.gw.id, "pause")["id"])
        self.control(issue(self.server, self.gw.id, "stop")["id"])
        self.loop.join(60)
        self.assertFalse(self.loop.is_alive())

    def test_resume_when_not_paused_is_answered_failed(self):
        self.loop.start()
        resume = self.control(issue(self.server, self.gw.id, "resume")["id"])
        self.assertEqual((resume["status"], resume["message"]), ("failed", "the run is not paused"))
        issue(self.server, self.gw.id, "stop")
        self.loop.join(60)

    def tearDown(self):
        self.gw.finish(timeout=WAIT)


@needs_torch
class DeliveryTest(unittest.TestCase):
    def test_a_control_issued_before_the_trainer_polls_is_pending_then_delivered(self):
        server = shared_server()
        status, created = server.api("POST", "/runs", {"name": "late-trainer"})
        control = issue(server, created["id"], "set_lr", net="D", value=3e-5)
        self.assertEqual(control["status"], "pending")
        run = ganwatch.init(resume=created["id"], server=server.url, spool=temp_dir())
        trainer = Trainer()
        train_until_answered(run, trainer, control["id"], optimizers=trainer.given)
        self.assertEqual(trainer.opts["D2"].param_groups[0]["lr"], 3e-5)
        stored = stored_control(server, run, control["id"])
        self.assertEqual(stored["status"], "applied")
        self.assertIsNotNone(stored["sent_at"])
        run.finish(timeout=WAIT)

    def test_an_alerts_apply_reaches_the_python_trainer(self):
        server = shared_server()
        run = ganwatch.init(name="alert-apply", server=server.url, spool=temp_dir())
        trainer = Trainer()
        run.log({"loss/D": float("nan")}, step=0)  # the divergence rule fires at once on a NaN
        alert = until(
            lambda: next(iter(server.api("GET", f"/runs/{run.id}/alerts")[1]["alerts"]), None), "the divergence alert"
        )
        self.assertEqual((alert["rule"], alert["remedy"]["action"]["action"]), ("divergence", "rollback"))
        status, applied = server.api("POST", f"/alerts/{alert['id']}/apply")
        self.assertEqual(status, 201, applied)
        # This loop gives no on_rollback: the remedy is answered failed, with the reason (test_rollback has one).
        result = train_until_answered(run, trainer, applied["control"]["id"], optimizers=trainer.given)
        self.assertEqual((result.action, result.ok), ("rollback", False))
        self.assertIn("on_rollback", result.message)
        self.assertTrue(run.flush(WAIT))
        after = until(
            lambda: (
                (a := server.api("GET", f"/runs/{run.id}/alerts")[1]["alerts"][0])["control"]["status"] == "failed"
                and a
            ),
            "the alert to record the answered control",
        )
        self.assertEqual(after["control"]["result_step"], result.step)
        run.finish(timeout=WAIT)


DYING_TRAINER = """
import sys, time, ganwatch
run = ganwatch.init(name="dies", server=sys.argv[1], spool=sys.argv[2], poll_wait=float(sys.argv[3]))
run.log({"loss": 1.0}, step=0)
assert run.flush(120)
print("RUN", run.id, flush=True)
input()
"""


class PresenceTest(unittest.TestCase):
    def trainer(self, server, poll_wait: float = 20.0):
        child = python_child(DYING_TRAINER, server.url, temp_dir(), str(poll_wait))
        run_id = read_report(child, "RUN ")
        until(lambda: server.api("GET", f"/runs/{run_id}/controls")[1]["trainer_connected"], "the trainer's poll")
        return child, run_id

    def status(self, server, run_id):
        return server.api("GET", f"/runs/{run_id}")[1]["status"]

    def test_a_python_trainer_that_dies_shows_disconnected(self):
        server = shared_server()
        child, run_id = self.trainer(server)
        self.assertEqual(self.status(server, run_id), "running")
        end_child(child, kill=True)  # SIGKILL: its open poll's connection closes
        until(lambda: self.status(server, run_id) == "disconnected", "the run to show disconnected")

    def test_a_trainer_that_stops_polling_without_closing_is_disconnected_after_the_timeout(self):
        server = Server(extra=("--trainer-timeout", "1"))
        child, run_id = self.trainer(server, poll_wait=0.5)
        os.kill(child.pid, signal.SIGSTOP)  # frozen: its connection stays open, no poll comes
        try:
            until(lambda: self.status(server, run_id) == "disconnected", "the run to show disconnected")
            os.kill(child.pid, signal.SIGCONT)
            until(lambda: self.status(server, run_id) == "running", "the run to be running again")
        finally:
            os.kill(child.pid, signal.SIGCONT)
            end_child(child, kill=True)
            server.stop()


if __name__ == "__main__":
    unittest.main()
