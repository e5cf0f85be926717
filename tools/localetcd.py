"""A throwaway etcd (Debian's `etcd-server`) on 127.0.0.1 for the [ha] tests and demos.

Started on free ports with its own data directory, stopped by its own pid (never by name), and given
PR_SET_PDEATHSIG so that it dies with the thread that started it. `stop()` then `start()` again keeps the data
directory and the ports: a coordination service that was down for a while and came back, leases and all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from tools.localmail import HOST, _die_with_parent, free_port

ETCD = "/usr/bin/etcd"


class Etcd:
    def __init__(self, root: Path | None = None):
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="ea-etcd-", dir="/tmp"))
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The tooz backend URL of this etcd ([ha] coordination_url)."""
        return f"etcd3+http://{HOST}:{self.client_port}"

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.client_port}/health", timeout=1) as answer:
                return b'"true"' in answer.read()
        except OSError:
            return False

    def start(self) -> Etcd:
        if self.proc is not None and self.proc.poll() is None:
            return self
        client, peer = f"http://{HOST}:{self.client_port}", f"http://{HOST}:{self.peer_port}"
        with open(self.root / "etcd.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    ETCD,
                    "--name",
                    "ea-test",
                    "--data-dir",
                    str(self.root / "data"),
                    "--listen-client-urls",
                    client,
                    "--advertise-client-urls",
                    client,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    f"ea-test={peer}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            if self._healthy():
                return self
            time.sleep(0.1)
        code = self.proc.poll()
        self.stop()
        tail = (self.root / "etcd.log").read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(f"etcd did not come up (exit code {code}); log tail:\n" + "\n".join(tail))

    def stop(self) -> None:
        """Stop this etcd by its pid; the data directory stays (start() again brings it back)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Etcd:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
