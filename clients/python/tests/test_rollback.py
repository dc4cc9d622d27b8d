"""Specification of the rollback control in a PyTorch loop: a real model is checkpointed, its weights go NaN, the
server's divergence alert fires on the logged loss, Apply sends the alert's remedy (rollback to the latest checkpoint,
every lr halved), apply_controls() calls the loop's on_rollback, which restores the checkpoint, then halves the
optimizers' lrs and moves the same Run object to a child run forked at the checkpoint's step, where the losses are
finite again. A rollback this loop cannot carry out is refused and changes nothing."""

from __future__ import annotations

import math
import os
import unittest

from support import WAIT, needs_torch, shared_server, temp_dir, until  # first: sys.path
from test_controls import Trainer, issue, stored_control, train_until_answered

import ganwatch

try:
    import torch
except ImportError:  # needs_torch skips the tests
    torch = None


class Checkpoints:
    """What a PyTorch loop saves: weights, optimizer states, the RNG and the step, in one file per checkpoint name."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.dir = temp_dir()
        self.restored: list[str] = []

    def save(self, step: int) -> str:
        path = os.path.join(self.dir, "latest.pt")
        t = self.trainer
        torch.save(
            {
                "nets": {k: n.state_dict() for k, n in t.nets.items()},
                "opts": {k: o.state_dict() for k, o in t.opts.items()},
                "rng": torch.get_rng_state(),
                "step": step,
            },
            path,
        )
        return path

    def restore(self, checkpoint: str) -> int:
        self.restored.append(checkpoint)
        saved = torch.load(os.path.join(self.dir, f"{checkpoint}.pt"))
        t = self.trainer
        for k, n in t.nets.items():
            n.load_state_dict(saved["nets"][k])
        for k, o in t.opts.items():
            o.load_state_dict(saved["opts"][k])
        torch.set_rng_state(saved["rng"])
        t.steps = saved["step"]
        return saved["step"]


@needs_torch
class RollbackTest(unittest.TestCase):
    def setUp(self):
        self.server = shared_server()
        self.gw = ganwatch.init(
            name="py-rollback", config={"lr": 2e-4}, tags=["py"], server=self.server.url, spool=temp_dir()
        )
        self.trainer = Trainer()
        self.ck = Checkpoints(self.trainer)

    def tearDown(self):
        self.gw.finish(timeout=WAIT)

    def step(self, **kwargs) -> list:
        loss = self.trainer.step()
        self.gw.log({"loss/G": loss}, step=self.trainer.steps)
        return self.gw.apply_controls(
            optimizers=self.trainer.given, on_checkpoint=self.ck.save, on_rollback=self.ck.restore, **kwargs
        )

    def test_the_divergence_remedy_restores_the_checkpoint_and_continues_as_a_child_run(self):
        saved = issue(self.server, self.gw.id, "checkpoint")
        until(lambda: any(r.id == saved["id"] for r in self.step()), "the checkpoint")
        fork_step = self.trainer.steps
        parent = self.gw.id
        with torch.no_grad():  # the model diverges: its weights become NaN, and so does the loss it logs
            for p in self.trainer.nets["G"].parameters():
                p.mul_(float("nan"))
        self.step()
        self.assertTrue(math.isnan(self.trainer.loss().item()))
        self.assertTrue(self.gw.flush(WAIT))

        def firing():
            alerts = self.server.api("GET", f"/runs/{parent}/alerts?rule=divergence")[1]["alerts"]
            return next((a for a in alerts if a["state"] == "firing"), None)

        alert = until(firing, "the divergence alert")
        remedy = {"action": "rollback", "args": {"checkpoint": "latest", "lr_factor": 0.5}}
        self.assertEqual(alert["remedy"]["action"], remedy)
        status, applied = self.server.api("POST", f"/alerts/{alert['id']}/apply")
        self.assertEqual(status, 201, applied)
        control_id = applied["control"]["id"]
        result = until(lambda: next((r for r in self.step() if r.id == control_id), None), "the rollback")

        self.assertTrue(result.ok, result.message)
        self.assertEqual(self.ck.restored, ["latest"])
        self.assertEqual(result.step, fork_step)
        child = self.gw.id
        self.assertNotEqual(child, parent)
        self.assertEqual((self.gw.parent_id, self.gw.fork_step), (parent, fork_step))
        self.assertRegex(
            result.message,
            rf"^restored the latest checkpoint \(step {fork_step}\) after step \d+; "
            rf"lr G 0.0001, E 0.0001, D 5e-05, D2 5e-05 \(×0.5\); training continues as run {child}$",
        )
        self.assertEqual([g["lr"] for g in self.trainer.opts["G"].param_groups], [1e-4, 5e-4])
        self.assertEqual(self.trainer.opts["D2"].param_groups[0]["lr"], 5e-5)
        stored = self.server.api("GET", f"/runs/{parent}/controls")[1]["controls"]
        self.assertEqual(next(c for c in stored if c["id"] == control_id)["status"], "applied")
        self.assertEqual(self.server.api("GET", f"/runs/{parent}")[1]["status"], "finished")

        for _ in range(5):
            self.step()
        self.assertTrue(self.gw.flush(WAIT))
        run = self.server.api("GET", f"/runs/{child}")[1]
        self.assertEqual(
            (run["parent_id"], run["fork_step"], run["name"]),
            (parent, fork_step, f"py-rollback (fork at step {fork_step})"),
        )
        self.assertEqual((run["config"], run["tags"]), ({"lr": 2e-4}, ["py"]))
        metrics = {m["name"]: m for m in self.server.api("GET", f"/runs/{child}/metrics")[1]["metrics"]}
        self.assertEqual(metrics["loss/G"]["first_step"], fork_step + 1)
        self.assertEqual(metrics["loss/G"]["last_step"], fork_step + 5)
        self.assertEqual(metrics["loss/G"]["nonfinite"], 0)
        self.assertEqual(metrics["lr/G"]["last_value"], 1e-4)

    def test_a_rollback_the_loop_cannot_carry_out_is_refused_and_changes_nothing(self):
        command = {"action": "rollback", "args": {"checkpoint": "latest", "lambda": {"cyc": 20}}}
        status, control = self.server.api("POST", f"/runs/{self.gw.id}/controls", command)
        self.assertEqual(status, 201, control)
        run_id = self.gw.id
        result = train_until_answered(
            self.gw, self.trainer, control["id"], optimizers=self.trainer.given, on_rollback=self.ck.restore
        )
        self.assertFalse(result.ok)
        self.assertEqual(result.message, "no loss weights were given to apply_controls(lambdas=...)")
        self.assertEqual(self.ck.restored, [])
        self.assertEqual(self.gw.id, run_id)
        self.assertEqual(stored_control(self.server, self.gw, control["id"])["status"], "failed")

        control = issue(self.server, self.gw.id, "rollback", checkpoint="best")
        result = train_until_answered(self.gw, self.trainer, control["id"])
        self.assertFalse(result.ok)
        self.assertIn("on_rollback", result.message)


if __name__ == "__main__":
    unittest.main()
