"""Starting and stopping real peer servers (yaz-ztest, zebrasrv) on loopback, by PID.

Shared by the Z39.50 interop tests and bench/bench_z3950.py. Linux /proc is used to find the
ephemeral port a server chose and the per-session children it forked.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


def listening_port(pid: int, deadline: float) -> int:
    """The TCP port process ``pid`` listens on, waiting until ``deadline`` (monotonic)."""
    while time.monotonic() < deadline:
        inodes = set()
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
            lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:
            lines = []
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # LISTEN
                return int(parts[1].split(":")[1], 16)
        time.sleep(0.05)
    raise RuntimeError(f"process {pid} did not start listening")


def child_pids(pid: int) -> list[int]:
    """PIDs whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
    return out


def stop(proc: subprocess.Popen[bytes], timeout: float = 5) -> None:
    """Stop a server and the per-session children it forked (yaz-ztest, zebrasrv), by PID."""
    for child in child_pids(proc.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGTERM)
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def yaz_ztest(tool: str, log: Path) -> Iterator[int]:
    """``yaz-ztest`` on an ephemeral loopback port; yields the port, stops it by PID."""
    proc = subprocess.Popen(
        [tool, "-l", str(log), "tcp:127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield listening_port(proc.pid, time.monotonic() + 10)
    finally:
        stop(proc)
