"""Side-by-side speed of scratchcnn and PyTorch on the tutorial network, in one run, alternating.

    python reference/compare_pytorch.py [--rounds 3] [--steps 600]

PyTorch is never a dependency of scratchcnn: install it in a throwaway environment to run this
(``pip install torch==2.13.0``). Both train the same network (Conv2D(28, 3x3) -> MaxPool 2x2 -> Flatten
-> Dense(128, relu) -> Dropout(0.2) -> Dense(10)), float32, batch 32, Adam with Keras's constants, on the
same random MNIST-shaped data; PyTorch eager on 2 threads (torch.set_num_threads(2)). Each system runs
in its own worker process, so each keeps its own threading settings (scratchcnn's passive OpenMP waiting
and one BLAS thread; PyTorch's defaults): the parent alternates them round by round, each round timing
``--steps`` training steps and then inference at batch 1000 (median of 5 passes). The machine's noise
hits both alike, so the ratios are what to read. Epoch times are projected to 1,875 steps. Peak memory
is each worker's.
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def median_seconds(fn, repeats: int = 5) -> float:
    fn()                                            # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def torch_model():
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 28, 3)
            self.fc1 = nn.Linear(13 * 13 * 28, 128)
            self.drop = nn.Dropout(0.2)
            self.fc2 = nn.Linear(128, 10)
            for layer in (self.conv, self.fc1, self.fc2):   # Keras's initialisers
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

        def forward(self, x):                               # x: (N, 1, 28, 28), channels first
            x = torch.max_pool2d(self.conv(x), 2)
            x = torch.relu(self.fc1(x.flatten(1)))
            return self.fc2(self.drop(x))

    net = Net()
    return net, torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


def time_torch(net, opt, x, y, steps, batch=32):
    import torch
    import torch.nn.functional as F

    xt, yt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y.astype(np.int64))
    net.train()
    start = time.perf_counter()
    for s in range(steps):
        lo = (s * batch) % (len(x) - batch)
        opt.zero_grad()
        loss = F.cross_entropy(net(xt[lo:lo + batch]), yt[lo:lo + batch])
        loss.backward()
        opt.step()
    train = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        infer = median_seconds(lambda: net(xt[:1000]))
    return train, infer


def time_scratchcnn(model, x, y, steps, batch=32):
    """The same two measurements as ``scratchcnn bench``, in seconds."""
    from scratchcnn import bench
    from scratchcnn.kernels.threads import single_threaded_blas

    with single_threaded_blas():
        train_ips = bench.training_images_per_second(model, x, y, batch=batch, steps=steps)
    return steps * batch / train_ips, 1000 / bench.inference_images_per_second(model, x, batch=1000)


def worker(system: str, rounds: int, steps: int) -> None:
    """Build one system, warm it up, then time a round each time the parent writes a line to stdin."""
    rng = np.random.default_rng(0)
    x = rng.random((4000, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, len(x))
    if system == "torch":
        import torch

        torch.set_num_threads(2)
        torch.manual_seed(0)
        net, opt = torch_model()
        run = lambda n: time_torch(net, opt, x, y, n)           # noqa: E731
    else:
        from scratchcnn.tutorial import build_model

        model = build_model(seed=0)
        run = lambda n: time_scratchcnn(model, x, y, n)         # noqa: E731
    run(20)                                                    # warm up (numba cache, torch kernels)
    print("ready", flush=True)
    for _ in range(rounds):
        sys.stdin.readline()
        train, infer = run(steps)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"train": train, "infer": infer, "rss_mb": rss}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=600, help="training steps per system per round")
    parser.add_argument("--worker", choices=("torch", "scratchcnn"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.rounds, args.steps)

    workers = {}
    for system in ("scratchcnn", "torch"):
        workers[system] = subprocess.Popen(
            [sys.executable, __file__, "--worker", system, "--rounds", str(args.rounds), "--steps", str(args.steps)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert workers[system].stdout.readline().strip() == "ready"

    def one_round(system):                        # the two systems never run at the same time
        workers[system].stdin.write("go\n")
        workers[system].stdin.flush()
        return json.loads(workers[system].stdout.readline())

    rows = []
    for r in range(args.rounds):
        ours, theirs = one_round("scratchcnn"), one_round("torch")
        rows.append((ours, theirs))
        print(f"round {r + 1}: epoch scratchcnn {ours['train'] / args.steps * 1875:5.1f} s, PyTorch "
              f"{theirs['train'] / args.steps * 1875:5.1f} s (ratio {ours['train'] / theirs['train']:.2f}); "
              f"inference scratchcnn {1000 / ours['infer']:7,.0f} img/s, PyTorch {1000 / theirs['infer']:7,.0f} "
              f"img/s (ratio {theirs['infer'] / ours['infer']:.2f}x)", flush=True)
    for process in workers.values():
        process.wait()
    train_ratio = np.median([o["train"] / t["train"] for o, t in rows])
    infer_ratio = np.median([t["infer"] / o["infer"] for o, t in rows])
    print(f"\nmedian over {args.rounds} rounds: scratchcnn epoch time / PyTorch = {train_ratio:.2f}; "
          f"scratchcnn inference speed / PyTorch = {infer_ratio:.2f}x")
    print(f"peak resident memory: scratchcnn {rows[-1][0]['rss_mb']:.0f} MiB, PyTorch {rows[-1][1]['rss_mb']:.0f} MiB "
          "(each worker, 4,000 random images)")


if __name__ == "__main__":
    main()
