"""Samples kingress's resident memory and open file descriptors once a
second, and judges them after warm-up: RSS within 10 % of where warm-up
left it, and no descriptor growth."""

import os
import threading
import time
from pathlib import Path


class Sampler:
    def __init__(self, pid: int, interval: float = 1.0):
        self.pid = pid
        self.interval = interval
        self.samples = []  # (seconds since start, rss KiB, fds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                rss = next(int(line.split()[1]) for line in
                           Path(f"/proc/{self.pid}/status").read_text().splitlines()
                           if line.startswith("VmRSS:"))
                fds = len(os.listdir(f"/proc/{self.pid}/fd"))
            except (OSError, StopIteration):
                return
            self.samples.append((time.monotonic() - self.t0, rss, fds))

    def verdict(self, warmup: float, slack: int) -> list:
        """`slack`: descriptors that may come and go without being a leak
        (client connections, pooled upstream connections, probes)."""
        after = [s for s in self.samples if s[0] >= warmup]
        if len(after) < 5:
            return [f"only {len(after)} memory samples after {warmup:.0f} s of warm-up"]
        base_rss = after[0][1]
        peak_rss = max(s[1] for s in after)
        end_rss = after[-1][1]
        head = sorted(s[2] for s in after[:5])[2]
        tail = sorted(s[2] for s in after[-5:])[2]
        print(f"soak: RSS after warm-up {base_rss / 1024:.1f} MiB, peak {peak_rss / 1024:.1f} MiB, "
              f"end {end_rss / 1024:.1f} MiB ({(peak_rss / base_rss - 1) * 100:+.1f} % peak); "
              f"fds {head} -> {tail} (median of 5 samples)")
        failures = []
        if peak_rss > base_rss * 1.10:
            failures.append(f"RSS grew {(peak_rss / base_rss - 1) * 100:.1f} % after warm-up")
        if tail > head + slack:
            failures.append(f"file descriptors grew from {head} to {tail}")
        return failures
