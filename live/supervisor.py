"""Spawn, watch, respawn and reap the processes of one live run.

Every child is started in a session (and so a process group) of its own, so
that reaping kills whatever it started too. A child that dies while the run
goes on (a ``kill -9`` fault) is started again with the next incarnation
number, as supervisord or Horizon's master restart a worker. A child runs in
the caller's folder, as any program the caller starts does, with ``-P`` so that
folder is not on its import path (a folder there named like one of our packages
would shadow it); ``PYTHONPATH`` names the folder this code was imported from,
so a child runs the same code as its parent. ``stop()`` sends
SIGTERM, waits ``grace_s``, then SIGKILLs each process group and waits for
every child: no process is left behind, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Child", "Supervisor"]

ROOT = str(Path(__file__).resolve().parent.parent)


@dataclass(slots=True)
class Child:
    role: str
    slot: int
    incarnation: int
    process: subprocess.Popen[bytes]


@dataclass(slots=True)
class Supervisor:
    spec_path: str
    stderr_path: str
    children: list[Child] = field(default_factory=list)
    deaths: list[tuple[str, int, int, int]] = field(default_factory=list)  # role, slot, incarnation, code
    spawned: int = 0

    def spawn(self, role: str, slot: int, incarnation: int = 0) -> Child:
        env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
        with open(self.stderr_path, "ab") as err:
            process = subprocess.Popen(
                [sys.executable, "-P", "-m", "live.proc", role, self.spec_path, str(slot), str(incarnation)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                start_new_session=True,
            )
        child = Child(role=role, slot=slot, incarnation=incarnation, process=process)
        self.children.append(child)
        self.spawned += 1
        return child

    def respawn_dead(self) -> int:
        """Start a new incarnation of every child that died; how many."""
        again = 0
        for child in list(self.children):
            code = child.process.poll()
            if code is None:
                continue
            self.children.remove(child)
            self.deaths.append((child.role, child.slot, child.incarnation, code))
            self.spawn(child.role, child.slot, child.incarnation + 1)
            again += 1
        return again

    def alive(self) -> int:
        return sum(1 for c in self.children if c.process.poll() is None)

    def stop(self, grace_s: float = 1.0) -> None:
        """SIGTERM, then SIGKILL every child's process group; wait for all of them."""
        for child in self.children:
            _signal_group(child.process, signal.SIGTERM)
        end = time.monotonic() + grace_s
        while time.monotonic() < end and any(c.process.poll() is None for c in self.children):
            time.sleep(0.01)
        for child in self.children:
            _signal_group(child.process, signal.SIGKILL)  # also whatever the child started
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):  # a kernel that ignores SIGKILL
                child.process.wait(timeout=10)
        for child in self.children:
            code = child.process.returncode
            if code is not None and code not in (0, -signal.SIGTERM, -signal.SIGKILL):
                self.deaths.append((child.role, child.slot, child.incarnation, code))


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)  # start_new_session: the child leads its own group
