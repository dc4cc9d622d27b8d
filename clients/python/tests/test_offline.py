"""Specification: a run recorded with offline=True (no server at all) is uploaded later, whole, by
``python -m ganwatch sync`` or by the Node ``npm run sync`` (both read the same spool format); and the client works
with the standard library alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unittest

from support import (  # first: sys.path
    CLIENT,
    NODE,
    ROOT,
    WAIT_TIMEOUT_S,
    end_child,
    export_points,
    python_child,
    read_report,
    shared_server,
    temp_dir,
)

OFFLINE_RUN = """
import sys, ganwatch
run = ganwatch.init(name="offline-run", config={"lr": 0.5}, tags=["offline"], offline=True, spool=sys.argv[1],
                    server="http://127.0.0.1:9")
for step in range(250):
    run.log({"loss/D": step / 10, "nan": float("nan")}, step=step)
run.log_image([[0, 128, 255]], epoch=2, step=249)
run.log_latents([[1.0, 2.0], [3.0, 4.0]], labels=[0, 1], epoch=2)
assert run.url is None
print("KEY", run.id, flush=True)
run.finish()
"""


def record_offline() -> tuple[str, str]:
    spool = temp_dir()
    child = python_child(OFFLINE_RUN, spool)
    key = read_report(child, "KEY ")
    end_child(child)
    assert child.returncode == 0
    return spool, key


def find_run(server, name: str) -> dict:
    runs = server.api("GET", f"/runs?name={name}")[1]["runs"]
    assert len(runs) == 1, runs
    return runs[0]


class OfflineTest(unittest.TestCase):
    def check_uploaded(self, server, run: dict) -> None:
        self.assertEqual((run["config"], run["tags"], run["status"]), ({"lr": 0.5}, ["offline"], "finished"))
        # The server adds val/latent_* (cluster separation of the labelled codes) on its own: not ours to compare.
        points = {key: v for key, v in export_points(server, run["id"]).items() if not key[0].startswith("val/latent")}
        self.assertEqual(
            points, {**{("loss/D", s): s / 10 for s in range(250)}, **{("nan", s): "NaN" for s in range(250)}}
        )
        self.assertEqual(len(server.api("GET", f"/runs/{run['id']}/media")[1]["media"]), 1)
        self.assertEqual(server.api("GET", f"/runs/{run['id']}/latents/2")[1]["labels"], [0, 1])

    def test_an_offline_run_sends_nothing_and_python_m_ganwatch_sync_uploads_it_whole(self):
        server = shared_server()
        spool, key = record_offline()
        self.assertTrue(key.startswith("local"))
        sync = subprocess.run(
            [sys.executable, "-m", "ganwatch", "sync", "--spool", spool, "--server", server.url],
            env={**os.environ, "PYTHONPATH": str(CLIENT)},
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT_S,
        )
        self.assertEqual(sync.returncode, 0, sync.stderr + sync.stdout)
        run = server.api("GET", "/runs?name=offline-run")[1]["runs"]
        run = next(r for r in run if r["id"] in sync.stdout)
        self.assertIn(f"{key} → {run['id']}: created run, uploaded 250 points", sync.stdout)
        self.check_uploaded(server, run)
        again = subprocess.run(
            [sys.executable, "-m", "ganwatch", "sync", "--spool", spool, "--server", server.url],
            env={**os.environ, "PYTHONPATH": str(CLIENT)},
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT_S,
        )
        self.assertIn("up to date", again.stdout)

    def test_the_node_sync_command_reads_a_spool_the_python_client_wrote(self):
        server = shared_server()
        spool, key = record_offline()
        sync = subprocess.run(
            [
                NODE,
                "--import",
                "tsx",
                str(ROOT / "trainer" / "sync.ts"),
                "--spool",
                spool,
                "--server",
                server.url,
                "--json",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT_S,
        )
        self.assertEqual(sync.returncode, 0, sync.stderr + sync.stdout)
        (result,) = json.loads(sync.stdout)["runs"]
        self.assertEqual((result["key"], result["outcome"], result["points"]), (key, "synced", 250))
        self.check_uploaded(server, server.api("GET", f"/runs/{result['run']}")[1])

    def test_sync_says_so_when_the_server_cannot_be_reached(self):
        sync = subprocess.run(
            [sys.executable, "-m", "ganwatch", "sync", "--spool", temp_dir(), "--server", "http://127.0.0.1:9"],
            env={**os.environ, "PYTHONPATH": str(CLIENT)},
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT_S,
        )
        self.assertEqual(sync.returncode, 2)
        self.assertIn("GW_ERR_SERVER", sync.stderr)


STDLIB_ONLY = """
import sys
sys.modules["numpy"] = None  # `import numpy` now fails: the client must not need it
sys.modules["torch"] = None
import ganwatch
run = ganwatch.init(name="stdlib-only", server=sys.argv[1], spool=sys.argv[2])
run.log({"a": 0.5, "b": float("inf")}, step=1)
run.log_image([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [1.0, 1.0, 1.0]]], epoch=0, step=1)
run.log_latents([[0.1, 0.2]], labels=[3], epoch=0)
print("DONE", run.id, run.finish(timeout=120), flush=True)
"""


class StandardLibraryOnlyTest(unittest.TestCase):
    def test_the_client_records_everything_without_numpy_or_torch(self):
        server = shared_server()
        child = python_child(STDLIB_ONLY, server.url, temp_dir())
        run_id, ok = read_report(child, "DONE ").split()
        self.assertEqual(ok, "True", end_child(child))
        end_child(child)
        self.assertEqual(export_points(server, run_id), {("a", 1): 0.5, ("b", 1): "Infinity"})
        self.assertEqual(len(server.api("GET", f"/runs/{run_id}/media")[1]["media"]), 1)
        self.assertEqual(server.api("GET", f"/runs/{run_id}/latents/0")[1]["labels"], [3])


if __name__ == "__main__":
    unittest.main()
