"""The Python client's benchmark (run by `npm run bench -- python`, which starts the server and passes its URL).
Each figure is printed next to a baseline measured in the same run, as a ratio:
  - a real PyTorch GAN step (CPU, one thread) logging 28 metrics and applying controls every step, against the same
    steps without the client: process CPU time per step (the client's threads included), alternating blocks;
  - the CPU time one log() call of 28 float metrics costs the calling thread, against json.dumps of the same dict;
  - points per second stored (acknowledged) from a tight log() loop, against raw HTTP POSTs of pre-built batches of
    the same size over one keep-alive connection;
  - control latency: POST of a control → applied by apply_controls() in a loop of 10 ms steps, against the round
    trip of GET /health (the network floor)."""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from urllib.parse import urlsplit

import ganwatch

SERVER = sys.argv[1]
QUICK = "--quick" in sys.argv
METRICS = [
    "D_real_acc", "D_fake_acc", "D2_real_acc", "D2_fake_acc", "Cyc_error", "Latent_mse", "loss/D", "loss/D2",
    "loss/G_GAN", "loss/G_GAN2", "loss/L1", "loss/z_L1", "loss/KL", "loss/G_total", "grad_norm/G", "grad_norm/E",
    "grad_norm/D", "grad_norm/D2", "lr/G", "lr/E", "lr/D", "lambda/adv", "lambda/cyc", "lambda/latent", "lambda/kl",
    "clip/max_norm", "perf/step_ms", "perf/images_per_s",
]  # fmt: skip


def line(label: str, value: str, base_label: str, base: str, ratio: str) -> None:
    print(
        f"{label:<42} {value:>14}   vs {base_label:<34} {base:>14}   {ratio}",
        flush=True,
    )


def post(path: str, body: dict) -> dict:
    request = urllib.request.Request(
        SERVER + "/api/v1" + path,
        json.dumps(body).encode(),
        {"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as res:
        return json.load(res)


# ---------------------------------------------------------------- 1. training overhead


def training_overhead() -> None:
    import torch
    from torch import nn

    torch.set_num_threads(1)
    torch.manual_seed(0)

    def conv_net(out: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(3, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, out, 4, 2, 1),
        )  # fmt: skip

    generator, discriminator = conv_net(3), conv_net(1)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-4, betas=(0.5, 0.999))
    lambdas = {"lambda_GAN": 1.0, "lambda_L1": 10.0, "lambda_z": 0.5, "lambda_kl": 0.01}
    real = torch.rand(8, 3, 64, 64) * 2 - 1

    def step() -> dict:
        fake = torch.tanh(generator(real))
        opt_d.zero_grad()
        loss_d = (discriminator(fake.detach()) ** 2).mean() + ((discriminator(real) - 1) ** 2).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = ((discriminator(fake) - 1) ** 2).mean() + lambdas["lambda_L1"] * (fake - real).abs().mean()
        loss_g.backward()
        opt_g.step()
        values = {name: float(i) * 0.01 for i, name in enumerate(METRICS)}
        values["loss/D"], values["loss/G_GAN"] = loss_d.item(), loss_g.item()
        return values

    run = ganwatch.init(name="bench-python-train", server=SERVER, spool=tempfile.mkdtemp())
    steps, blocks = (5, 2) if QUICK else (10, 6)
    counter = 0

    def block(with_client: bool) -> float:
        nonlocal counter
        start = time.process_time()
        for _ in range(steps):
            values = step()
            if with_client:
                run.log(values, step=counter)
                run.apply_controls(optimizers={"G": opt_g, "D": opt_d}, lambdas=lambdas)
            counter += 1
        return (time.process_time() - start) / steps * 1000

    block(False)  # warm-up
    without, with_client = [], []
    for _ in range(blocks):
        without.append(block(False))
        with_client.append(block(True))
    run.finish()
    base, ours = statistics.median(without), statistics.median(with_client)
    line("CPU per GAN step, logging 28 metrics", f"{ours:.1f} ms", "without the client", f"{base:.1f} ms",
         f"{ours / base:.3f}")  # fmt: skip


# ---------------------------------------------------------------- 2. the cost of log()


def log_cost() -> None:
    run = ganwatch.init(name="bench-python-log", server=SERVER, spool=tempfile.mkdtemp())
    values = {name: 0.1 * i for i, name in enumerate(METRICS)}
    calls = 2_000 if QUICK else 20_000
    # CPU time of the calling thread: what the training loop pays (the sender thread's share is in the GAN figure).
    start = time.thread_time()
    for i in range(calls):
        run.log(values, step=i)
    ours = (time.thread_time() - start) / calls * 1e6
    start = time.thread_time()
    for i in range(calls):
        json.dumps({"step": i, "wall": 1.0, "values": values})
    base = (time.thread_time() - start) / calls * 1e6
    run.finish(timeout=120)
    line("log() of 28 float metrics, thread CPU", f"{ours:.1f} µs", "json.dumps of the same point", f"{base:.1f} µs",
         f"{ours / base:.2f}")  # fmt: skip


# ---------------------------------------------------------------- 3. throughput


def throughput() -> None:
    points = 20_000 if QUICK else 200_000
    values = {f"m{i}": 0.5 for i in range(10)}
    run = ganwatch.init(name="bench-python-throughput", server=SERVER, spool=tempfile.mkdtemp())
    start = time.perf_counter()
    for i in range(points):
        run.log(values, step=i)
    assert run.finish(timeout=600)
    ours = points * 10 / (time.perf_counter() - start)

    target = post("/runs", {"name": "bench-python-raw"})["id"]
    wall = time.time()
    bodies = [
        json.dumps({"points": [{"step": s, "wall": wall, "values": values} for s in range(b, b + 2000)]}).encode()
        for b in range(0, points, 2000)
    ]
    parts = urlsplit(SERVER)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    start = time.perf_counter()
    for body in bodies:
        conn.request(
            "POST",
            f"/api/v1/runs/{target}/points",
            body,
            {"content-type": "application/json"},
        )
        res = conn.getresponse()
        res.read()
        assert res.status == 200
    base = points * 10 / (time.perf_counter() - start)
    conn.close()
    line("values stored per second via log()", f"{ours:,.0f}/s", "raw POSTs of pre-built batches", f"{base:,.0f}/s",
         f"{ours / base:.2f}")  # fmt: skip


# ---------------------------------------------------------------- 4. control latency


def control_latency() -> None:
    run = ganwatch.init(name="bench-python-controls", server=SERVER, spool=tempfile.mkdtemp())
    issued_at = [0.0]  # when the control being waited for was issued (one at a time)
    latencies: list[float] = []
    rounds = 5 if QUICK else 30
    done = threading.Event()

    def trainer() -> None:
        step = 0
        while not done.is_set():
            time.sleep(0.01)  # a 10 ms training step
            run.log({"loss": 1.0}, step=step)
            for result in run.apply_controls(lambdas={"lambda_L1": 10.0}):
                latencies.append(time.perf_counter() - issued_at[0])
            step += 1

    thread = threading.Thread(target=trainer)
    thread.start()
    for _ in range(rounds):
        count = len(latencies)
        issued_at[0] = time.perf_counter()
        post(f"/runs/{run.id}/controls", {"action": "set_lambda", "args": {"name": "cyc", "value": 10}})
        while len(latencies) == count:
            if not thread.is_alive():
                raise RuntimeError("the trainer thread died")
            time.sleep(0.005)
    done.set()
    thread.join()
    run.finish()
    floor = []
    for _ in range(rounds):
        start = time.perf_counter()
        urllib.request.urlopen(SERVER + "/api/v1/health").read()
        floor.append(time.perf_counter() - start)
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    line("control issued → applied (10 ms steps)", f"p50 {statistics.median(ms):.0f} ms", "GET /health round trip",
         f"{statistics.median(floor) * 1000:.1f} ms", f"p99 {p99:.0f} ms, max {ms[-1]:.0f} ms (goal < 1 s)")  # fmt: skip


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}, ganwatch {ganwatch.__version__}", flush=True)
    log_cost()
    throughput()
    control_latency()
    try:
        import torch  # noqa: F401
    except ImportError:
        print("(PyTorch is not installed: the training-overhead figure is skipped)")
    else:
        training_overhead()
