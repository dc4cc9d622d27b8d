"""CPU time of one training step of the example's BicycleGAN, without ganwatch and without data loading, to size a run:

    python3 examples/pytorch-bicyclegan/step_time.py --size 32 --width 16 --batch 16 [--threads 1 --steps 5]

Process CPU time (all threads) per step, the median of --steps steps after two warm-up steps, on random images."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bicyclegan import BicycleGAN, Options  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--width", type=int, default=16, help="ngf = nef = ndf")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = BicycleGAN(Options(size=a.size, ngf=a.width, nef=a.width, ndf=a.width), torch.device("cpu"))
    images = torch.rand(2, a.batch, 3, a.size, a.size) * 2 - 1
    times = []
    for i in range(a.steps + 2):
        t0 = time.process_time()
        model.train_step(images[0], images[1])
        if i >= 2:
            times.append(time.process_time() - t0)
    print(
        f"{a.size} px, widths {a.width}, batch {a.batch}, {a.threads} thread(s): "
        f"{statistics.median(times) * 1000:.0f} ms CPU per step (median of {a.steps}; torch {torch.__version__})"
    )


if __name__ == "__main__":
    main()
