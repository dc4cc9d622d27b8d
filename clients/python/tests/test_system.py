"""Specification of the system metrics against a real server: samples of the process's CPU and memory go at the step
logged last, the run records its machine, system_metrics=False pushes none, without nvidia-smi there are no GPU metrics
and no error, and with one (a stand-in script first on PATH: the external program faked, nothing of ganwatch) each GPU
gets its metrics and the run records the GPU names."""

from __future__ import annotations

import os
import platform
import stat
import unittest

from support import WAIT, shared_server, temp_dir, until  # first: sys.path

import ganwatch
from ganwatch import system

TWO_GPUS = "0, NVIDIA GeForce RTX 3090, 87, 20480, 71\n1, Tesla T4, 3, 512, [N/A]\n"


def path_with(csv: str | None = None) -> str:
    """A folder for PATH holding, when ``csv`` is given, an ``nvidia-smi`` that prints it."""
    folder = temp_dir("ganwatch-py-bin-")
    if csv is not None:
        script = os.path.join(folder, "nvidia-smi")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\nprintf '%s' '{csv}'\n")
        os.chmod(script, os.stat(script).st_mode | stat.S_IXUSR)
    return folder


class SystemMetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = shared_server()

    def setUp(self):
        saved = os.environ["PATH"]
        self.addCleanup(os.environ.__setitem__, "PATH", saved)
        self.runs = []
        self.addCleanup(lambda: [r.finish(timeout=WAIT) for r in self.runs])

    def start(self, **kwargs):
        kwargs.setdefault("system_metrics", True)
        kwargs.setdefault("system_interval", 0.02)
        run = ganwatch.init(name="system", server=self.server.url, spool=temp_dir(), **kwargs)
        self.runs.append(run)
        return run

    def sampled(self, run, logged: int, samples: int) -> None:
        until(lambda: run.stats()["pushed"] >= logged + samples, f"{samples} system samples")

    def metrics(self, run) -> dict:
        self.assertTrue(run.flush(WAIT))
        return {m["name"]: m for m in self.server.api("GET", f"/runs/{run.id}/metrics")[1]["metrics"]}

    def test_cpu_and_memory_samples_go_at_the_step_logged_last_and_the_run_records_its_machine(self):
        os.environ["PATH"] = path_with()
        run = self.start()
        for step in range(5):
            run.log({"loss": 1 / (step + 1)}, step=step)
        self.sampled(run, 5, 3)
        got = self.metrics(run)
        self.assertEqual((got["sys/cpu_percent"]["last_step"], got["sys/rss_mb"]["last_step"]), (4, 4))
        self.assertGreaterEqual(got["sys/cpu_percent"]["last_value"], 0)
        rss_now = system.rss_mb()
        self.assertTrue(rss_now / 2 < got["sys/rss_mb"]["last_value"] < rss_now * 2, got["sys/rss_mb"])
        stored = self.server.api("GET", f"/runs/{run.id}")[1]
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        model = names[0] if names else platform.processor()
        self.assertEqual(
            stored["system"],
            {
                "cpu": model,
                "cores": os.cpu_count(),
                "platform": f"{platform.system().lower()} {platform.release()} {platform.machine()}",
                "gpus": [],
            },
        )

    def test_without_nvidia_smi_there_are_no_gpu_metrics_and_no_error(self):
        os.environ["PATH"] = path_with()
        run = self.start()
        run.log({"loss": 1.0}, step=0)
        self.sampled(run, 1, 3)
        self.assertEqual(sorted(self.metrics(run)), ["loss", "sys/cpu_percent", "sys/rss_mb"])
        self.assertIsNone(run.stats()["last_error"])

    def test_opting_out_pushes_no_system_metric_while_a_run_sampling_as_often_got_several(self):
        os.environ["PATH"] = path_with()
        quiet = self.start(system_metrics=False)
        sampling = self.start()
        quiet.log({"loss": 1.0}, step=0)
        sampling.log({"loss": 1.0}, step=0)
        self.sampled(sampling, 1, 3)
        self.assertEqual(quiet.stats()["pushed"], 1)
        self.assertEqual(list(self.metrics(quiet)), ["loss"])
        self.assertNotIn("gpus", self.server.api("GET", f"/runs/{quiet.id}")[1]["system"])

    def test_each_gpu_gets_its_utilization_memory_and_temperature_and_the_run_records_the_names(self):
        os.environ["PATH"] = path_with(TWO_GPUS) + os.pathsep + os.environ["PATH"]
        run = self.start()
        run.log({"loss": 1.0}, step=7)
        self.sampled(run, 1, 2)
        gpu = sorted(
            (m["name"], m["last_value"], m["last_step"]) for m in self.metrics(run).values() if "gpu" in m["name"]
        )
        self.assertEqual(
            gpu,
            [
                ("sys/gpu_mem_mb/0", 20480, 7),
                ("sys/gpu_mem_mb/1", 512, 7),
                ("sys/gpu_temp_c/0", 71, 7),
                ("sys/gpu_util/0", 87, 7),
                ("sys/gpu_util/1", 3, 7),
            ],
        )
        stored = self.server.api("GET", f"/runs/{run.id}")[1]
        self.assertEqual(stored["system"]["gpus"], ["NVIDIA GeForce RTX 3090", "Tesla T4"])

    def test_the_environment_turns_them_off_by_default_and_an_argument_wins(self):
        self.assertFalse(system.enabled_by_default({"GANWATCH_SYSTEM_METRICS": "off"}))
        self.assertTrue(system.enabled_by_default({}))
        os.environ["PATH"] = path_with()
        quiet = self.start(system_metrics=None)  # $GANWATCH_SYSTEM_METRICS=0 in this suite (support.py)
        sampling = self.start()  # system_metrics=True
        quiet.log({"loss": 1.0}, step=0)
        sampling.log({"loss": 1.0}, step=0)
        self.sampled(sampling, 1, 3)
        self.assertEqual(list(self.metrics(quiet)), ["loss"])

    def test_a_bad_interval_is_refused(self):
        with self.assertRaises(ganwatch.OptionError):
            self.start(system_interval=0)


class NvidiaSmiCsvTest(unittest.TestCase):
    def test_a_name_may_hold_commas_a_value_it_lacks_is_left_out_and_other_lines_are_skipped(self):
        self.assertEqual(
            system.parse_nvidia_smi("2, Quadro RTX 8000, rev A, [Not Supported], 100, 40\nNVIDIA-SMI has failed\n"),
            [{"index": 2, "name": "Quadro RTX 8000, rev A", "util": None, "mem_mb": 100.0, "temp_c": 40.0}],
        )


if __name__ == "__main__":
    unittest.main()
