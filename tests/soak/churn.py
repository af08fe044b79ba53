"""The churned part of the configuration: SLOTS routes /c<n>/, each cycling
through six states, one slot changed per step, and a probe per change that
measures how long until a client sees it.

  absent -> on service a -> re-pointed to b -> key-auth attached
         -> key rotated -> key-auth detached -> removed -> absent
"""

import threading
import time
from pathlib import Path

import lib
from config import write_atomic

SLOTS = 20
ABSENT, ON_A, ON_B, KEYED, ROTATED, PLAIN_B = range(6)
# How long a probe waits; a slot changes again SLOTS steps later.
PROBE_DEADLINE = 1.9


class Churn:
    def __init__(self, path: Path, ports: dict):
        self.path = path
        self.ports = ports
        self.base = f"http://127.0.0.1:{ports['proxy']}"
        self.state = [ABSENT] * SLOTS
        self.key_gen = [0] * SLOTS
        self.next_slot = 0
        self.seen = []  # (what, ms or None)
        self.lock = threading.Lock()
        self.probes = []

    def key(self, slot: int) -> str:
        return f"churn-{slot}-{self.key_gen[slot]}"

    def render(self) -> str:
        out = ['_format_version: "3.0"', "services:"]
        for name, port in (("churn-a", self.ports["up_a"]), ("churn-b", self.ports["up_b"])):
            out += [f"  - name: {name}", f"    url: http://127.0.0.1:{port}"]
        out.append("routes:")
        for slot, state in enumerate(self.state):
            if state == ABSENT:
                continue
            service = "churn-a" if state == ON_A else "churn-b"
            out += [f"  - name: c{slot}", f"    paths: [/c{slot}/]", f"    service: {service}"]
            if state in (KEYED, ROTATED):
                out += ["    plugins:", "      - name: key-auth"]
        keys = [self.key(s) for s, st in enumerate(self.state) if st in (KEYED, ROTATED)]
        out += ["consumers:", "  - username: churn"]
        if keys:
            out += ["    keyauth_credentials:"] + [f"      - key: {k}" for k in keys]
        return "\n".join(out) + "\n"

    def write(self) -> None:
        write_atomic(self.path, self.render())

    def step(self) -> None:
        """Moves the next slot to its next state and starts a probe for it."""
        slot = self.next_slot
        self.next_slot = (slot + 1) % SLOTS
        state = (self.state[slot] + 1) % 6
        if state == ROTATED:
            self.key_gen[slot] += 1
        self.state[slot] = state
        url = f"{self.base}/c{slot}/x"
        expect = {
            ON_A: ("added", url, {}, lambda s, b: s == 200 and b == b"a\n"),
            ON_B: ("re-pointed", url, {}, lambda s, b: s == 200 and b == b"b\n"),
            KEYED: ("key-auth attached", url, {}, lambda s, b: s == 401),
            ROTATED: ("key rotated", url, {"apikey": self.key(slot)}, lambda s, b: s == 200),
            PLAIN_B: ("key-auth detached", url, {}, lambda s, b: s == 200),
            ABSENT: ("removed", url, {}, lambda s, b: s == 404),
        }[state]
        started = time.monotonic()
        self.write()
        t = threading.Thread(target=self._probe, args=(started, *expect), daemon=True)
        t.start()
        self.probes.append(t)
        self.probes = [p for p in self.probes if p.is_alive()]

    def _probe(self, started, what, url, headers, ok) -> None:
        while True:
            try:
                status, body = lib.http_get(url, headers=headers, timeout=2)
                if ok(status, body):
                    with self.lock:
                        self.seen.append((what, (time.monotonic() - started) * 1e3))
                    return
            except OSError:
                pass
            if time.monotonic() - started > PROBE_DEADLINE:
                with self.lock:
                    self.seen.append((what, None))
                return
            time.sleep(0.01)

    def finish(self) -> None:
        for t in self.probes:
            t.join()

    def latencies(self) -> list:
        with self.lock:
            return list(self.seen)
