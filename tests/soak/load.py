"""Constant-rate load with oha, in a thread, and its result."""

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import lib


@dataclass
class Result:
    codes: dict
    errors: dict
    total: int
    raw: dict  # oha's whole JSON report

    def summary(self) -> str:
        return f"{self.total} requests, statuses {self.codes}, errors {self.errors}"


class Load:
    def __init__(self, name: str, urls: list, rate: int, seconds: float, work: Path,
                 header: str = None, connections: int = 8):
        self.name, self.work = name, work
        url_file = work / f"{name}.urls"
        url_file.write_text("".join(u + "\n" for u in urls))
        self.argv = [lib.tool("oha"), "--no-tui", "--output-format", "json",
                     "-z", f"{int(seconds)}s", "-q", str(max(1, rate)), "-c", str(connections),
                     "--latency-correction", "--urls-from-file", str(url_file)]
        if header:
            self.argv += ["-H", header]
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with open(self.work / f"{self.name}.json", "wb") as out, \
                open(self.work / f"{self.name}.stderr", "wb") as err:
            lib.subprocess.run(["taskset", "-c", lib.LOAD_CPU] + self.argv, stdout=out, stderr=err,
                               check=False)

    def start(self) -> None:
        self.thread.start()

    def join(self) -> None:
        self.thread.join()

    def result(self) -> Result:
        data = json.loads((self.work / f"{self.name}.json").read_text())
        codes = {int(k): v for k, v in data.get("statusCodeDistribution", {}).items()}
        # Requests still in flight when -z ends are cancelled by oha, not failed.
        errors = {k: v for k, v in data.get("errorDistribution", {}).items() if "deadline" not in k}
        return Result(codes, errors, sum(codes.values()) + sum(errors.values()), data)
