"""Specification: nothing is lost. A server killed and restarted while the trainer logs, a trainer killed and resumed,
a failover between two servers: every value arrives, once, with the exact value logged."""

from __future__ import annotations

import inspect
import unittest

from support import WAIT, Server, end_child, export_points, python_child, read_report, tell, temp_dir  # first: sys.path

import ganwatch


def row(step):
    """The values every test logs at ``step`` (the child trainer runs this same function)."""
    return {"loss/D": 1.0 / (step + 1), "loss/G_GAN": step * 0.5, "D_real_acc": float(step % 3 == 0)}


def expected(steps: range) -> dict:
    return {(name, step): value for step in steps for name, value in row(step).items()}


class ServerRestartTest(unittest.TestCase):
    def test_a_server_killed_and_restarted_mid_run_receives_everything_exactly_once(self):
        server = Server()
        run = ganwatch.init(name="outage", server=server.url, spool=temp_dir())
        for step in range(0, 300):
            run.log(row(step), step=step)
        self.assertTrue(run.flush(WAIT))
        server.kill()
        for step in range(300, 700):  # the server is gone: training goes on, the spool keeps it all
            run.log(row(step), step=step)
        run.log_image([[0, 255], [255, 0]], epoch=1, step=699)
        run.log_latents([[0.5, 1.5]], labels=[1], epoch=1)
        self.assertFalse(run.flush(timeout=0))
        stats = run.stats()
        self.assertGreater(stats["unacked_batches"], 0)
        self.assertEqual(stats["pending_uploads"], 2)
        server.restart()  # same port, same database
        for step in range(700, 800):
            run.log(row(step), step=step)
        self.assertTrue(run.finish(timeout=120))
        self.assertEqual(export_points(server, run.id), expected(range(800)))
        self.assertEqual(run.stats()["acked"], 800)  # points (steps), 3 values each
        self.assertEqual(len(server.api("GET", f"/runs/{run.id}/media")[1]["media"]), 1)
        self.assertEqual(server.api("GET", f"/runs/{run.id}/latents/1")[1]["labels"], [1])
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["status"], "finished")
        server.stop()


CRASHING_TRAINER = (
    inspect.getsource(row)
    + """
import sys, ganwatch
run = ganwatch.init(name="crash", server=sys.argv[1], spool=sys.argv[2])
for step in range(0, 200):
    run.log(row(step), step=step)
assert run.flush(120)
print("ACKED", run.id, flush=True)
input()  # the test kills the server, then lets the trainer go on
for step in range(200, 400):
    run.log(row(step), step=step)
run.log_image([[9]], epoch=3, step=399)
run.flush(timeout=0)  # on disk, not acknowledged: the server is down
print("SPOOLED", run.stats()["unacked_batches"], flush=True)
input()  # killed here, without finish()
"""
)


class ResumeTest(unittest.TestCase):
    def test_a_trainer_killed_with_unacknowledged_data_resumes_the_same_run_and_resends_it(self):
        server = Server()
        spool = temp_dir()
        child = python_child(CRASHING_TRAINER, server.url, spool)
        run_id = read_report(child, "ACKED ")
        server.kill()
        tell(child)
        self.assertGreater(int(read_report(child, "SPOOLED ")), 0)
        end_child(child, kill=True)  # SIGKILL: no finish, no exit handlers
        server.restart()

        run = ganwatch.init(resume=run_id, server=server.url, spool=spool)
        self.assertEqual(run.id, run_id)
        for step in range(400, 500):
            run.log(row(step), step=step)
        self.assertTrue(run.finish(timeout=120))
        self.assertEqual(export_points(server, run_id), expected(range(500)))
        self.assertEqual([m["step"] for m in server.api("GET", f"/runs/{run_id}/media")[1]["media"]], [399])
        self.assertEqual(server.api("GET", f"/runs/{run_id}")[1]["status"], "finished")
        server.stop()

    def test_resume_without_the_spool_continues_the_run_from_the_server(self):
        server = Server()
        first = ganwatch.init(name="first", server=server.url, spool=temp_dir())
        first.log({"a": 1.0}, step=41)
        first.finish("failed", timeout=WAIT)
        run = ganwatch.init(resume=first.id, server=server.url, spool=temp_dir())
        self.assertEqual((run.id, run.name), (first.id, "first"))
        self.assertTrue(run.flush(WAIT))
        self.assertEqual(server.api("GET", f"/runs/{run.id}")[1]["status"], "running")
        run.log({"a": 2.0})  # the step after the last one stored
        self.assertTrue(run.finish(timeout=WAIT))
        self.assertEqual(export_points(server, run.id), {("a", 41): 1, ("a", 42): 2})
        server.stop()

    def test_resuming_a_run_nobody_has_is_a_clear_error(self):
        server = Server()
        with self.assertRaises(ganwatch.RunNotFoundError) as caught:
            ganwatch.init(resume="nosuchrun0", server=server.url, spool=temp_dir())
        self.assertEqual(caught.exception.code, "GW_ERR_RUN_NOT_FOUND")
        server.stop()

    def test_a_spool_folder_in_use_by_a_live_process_is_refused(self):
        server = Server()
        spool = temp_dir()
        run = ganwatch.init(name="busy", server=server.url, spool=spool)
        with self.assertRaises(ganwatch.SpoolError) as caught:
            ganwatch.init(resume=run.id, server=server.url, spool=spool)
        self.assertIn("in use", str(caught.exception))
        run.finish(timeout=WAIT)
        server.stop()


class FailoverTest(unittest.TestCase):
    def test_when_one_server_is_gone_the_next_address_receives_what_was_not_acknowledged(self):
        first = Server()
        second = Server(db=first.db)  # two servers over one database, as behind a load balancer
        run = ganwatch.init(name="failover", server=f"{first.url},{second.url}", spool=temp_dir())
        self.assertEqual(run.server, first.url)
        for step in range(0, 300):
            run.log(row(step), step=step)
        self.assertTrue(run.flush(WAIT))
        first.kill()
        for step in range(300, 600):
            run.log(row(step), step=step)
        self.assertTrue(run.finish(timeout=120))
        stats = run.stats()
        self.assertEqual((stats["server"], stats["acked"]), (second.url, 600))
        self.assertGreaterEqual(stats["failovers"], 1)
        self.assertEqual(run.url, f"{second.url}/#/runs/{run.id}")
        self.assertEqual(export_points(second, run.id), expected(range(600)))
        second.stop()

    def test_a_list_of_addresses_fails_over_at_init_too(self):
        gone = Server()
        gone.kill()
        live = Server()
        run = ganwatch.init(name="init-failover", server=[gone.url, live.url], spool=temp_dir())
        self.assertEqual(run.server, live.url)
        run.finish(timeout=WAIT)
        live.stop()


if __name__ == "__main__":
    unittest.main()
