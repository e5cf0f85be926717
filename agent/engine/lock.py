"""An advisory lock beside the state database (`<database>.lock`): `run` holds it while it works, and so does a
drill that runs the agent's cycles itself. A drill that cannot take it knows an agent is at work, and only watches:
two processes sending from one outbox could both hand the same row to the server."""

import fcntl
import os
from pathlib import Path


class DatabaseLock:
    def __init__(self, database: Path | str):
        self.path = Path(f"{database}.lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid written by the process that holds it, or '?'."""
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
