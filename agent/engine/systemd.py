"""sd_notify(3) without libsystemd: readiness, watchdog pings and status lines for a Type=notify unit."""

import os
import socket

# The manager reads one datagram per call; it refuses oversized ones, so keep STATUS= short.
_MAX_STATUS = 400


def _address() -> str | bytes | None:
    path = os.environ.get("NOTIFY_SOCKET", "")
    if path.startswith("@"):  # Linux abstract namespace: a leading NUL, no file
        return b"\0" + path[1:].encode()
    if path.startswith("/"):
        return path
    return None  # unset, or a form we do not speak (e.g. vsock:): not under a manager we can reach


def notify(*states: str) -> bool:
    """Send e.g. "READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=..." in one datagram.

    True when the manager got it; False when not under systemd or the send failed. Never raises:
    a lost notification must never stop the agent (systemd's own watchdog catches a real hang).
    """
    address = _address()
    if address is None or not states:
        return False
    lines = []
    for state in states:
        state = " ".join(str(state).split())  # one state per line: no newline may split one in two
        if state.startswith("STATUS="):
            state = state[:_MAX_STATUS]
        lines.append(state)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(1.0)  # the manager is local; never let a wedged PID 1 block the loop
            sock.sendto("\n".join(lines).encode("utf-8", "replace"), address)
        return True
    except (OSError, ValueError):
        return False


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WatchdogSec=, as sd_watchdog_enabled(3) advises).

    None when no watchdog is set for this process: $WATCHDOG_PID, when present, names the process
    the manager watches, and a child that inherited the environment must not ping for its parent.
    """
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None
