"""An advisory lock beside the state database (`<database>.lock`): `run` holds it while it works, and so does a
drill that runs the agent's cycles itself. A drill that cannot take it knows an agent is at work, and only watches:
two processes sending from one outbox could both hand the same row to the server."""

import fcntl
import os
from pathlib import Path

from agent.core.errors import AgentError


class DatabaseLock:
    def __init__(self, database: Path | str):
        self.path = Path(f"{database}.lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o640)
        except PermissionError:  # made by another user (a drill run as root): a read-only descriptor locks too
            fd = os.open(self.path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the holder's pid is for people; the lock is the flock
        self._fd = fd
        return True

    def holder(self) -> str:
        """The pid written by the process that holds it, or '?'."""
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def take(self) -> None:
        """Take it or raise AgentError: one process sends from an outbox, or two could send one row twice."""
        try:
            taken = self.acquire()
        except OSError as e:
            raise AgentError(
                f"cannot take {self.path} ({e.strerror}): one process at a time may use this database"
            ) from None
        if not taken:
            raise AgentError(
                f"{self.path} is held by process {self.holder()} (an agent or a drill on this database): "
                "one process at a time may send from its outbox"
            )

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
