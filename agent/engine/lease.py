"""The warm standby's lease ([ha]): a tooz lock in the coordination service. Only its holder decides and sends.

The loop asks `tick()` every third of the lease (a non-blocking acquire, or a refresh while held); the outbox asks
`clearance(need)` right before each send. The holder's own idea of holding is never taken as proof: a holder that was
frozen (SIGSTOP) past its lease wakes up believing it holds it, and tooz's etcd3gw `Lock.heartbeat()` says True even
then. So with etcd the clearance asks etcd itself (the lock key's owner, and the lease's time to live); with another
backend, or while the service cannot be reached, it trusts only the time since the service last confirmed the lease,
on the monotonic clock, which runs on while a process is frozen.
"""

import base64
import enum
import logging
import time
from collections.abc import Callable
from typing import Any

from agent.core.errors import ConfigError, why
from agent.core.settings import Config, HaConfig

log = logging.getLogger("agent.service")

HOLDER_PREFIX = "/escalation-agent/holder/"  # the holder's member name, on the lock's own lease: `status` reads it


class Role(enum.StrEnum):
    ALONE = "alone"  # no [ha]: this member decides and sends, as before
    LEADER = "leader"  # holds the lease: decides and sends
    STANDBY = "standby"  # reads the mailbox (its database stays current), sends nothing


class Clearance(enum.StrEnum):
    """The fence's answer, right before a send."""

    ALONE = "no [ha]: this member alone sends"
    HELD = "this member holds the lease"
    NOT_HELD = "this member does not hold the lease"
    LAPSING = "too little of the lease is left for the send"
    UNREACHABLE = "the coordination service cannot be reached and the lease may have lapsed"

    @property
    def may_send(self) -> bool:
        return self in (Clearance.ALONE, Clearance.HELD)


def lock_name(config: Config) -> str:
    """One lease per watched mailbox: several agents on one coordination service do not share it."""
    return f"escalation-agent/{config.imap.address}"


class Alone:
    """No [ha]: always the sender, as before."""

    role = Role.ALONE
    trouble: str | None = None
    member: str | None = None

    def tick(self, force: bool = False) -> Role:
        return Role.ALONE

    def clearance(self, need: float) -> Clearance:
        return Clearance.ALONE

    def holder(self) -> str | None:
        return None

    def close(self) -> None:
        pass


def said(e: BaseException) -> str:
    """What went wrong, in one line: tooz wraps the driver's exception, etcd3gw's connection errors say nothing and
    requests' say it all at length, so the deepest cause with words is taken, else what its kind means."""
    seen: BaseException | None = e
    found = None
    for _ in range(10):  # a chain, not a cycle
        if seen is None:
            break
        if str(seen).strip():
            found = seen
        seen = seen.__cause__ or seen.__context__
    if found is not None:
        return why(found)
    name = type(e).__name__
    if "Timeout" in name or "TimedOut" in name:
        return f"{name}: no answer in time"
    if "Connection" in name:
        return f"{name}: no connection (refused, or no route to it)"
    return name


def _tooz(url: str) -> Any:
    try:
        from tooz import coordination

        if url.startswith("etcd3"):
            import etcd3gw  # noqa: F401 (tooz's etcd3 driver needs it)
    except ImportError:
        raise ConfigError(
            "[ha] coordination_url needs the ha extra (tooz, etcd3gw): pip install 'escalation-agent[ha]'"
        ) from None
    return coordination


class Lease:
    """The lease as a tooz lock; one per member process."""

    def __init__(self, ha: HaConfig, name: str, clock: Callable[[], float] = time.monotonic):
        self.ha, self.member, self._clock = ha, ha.member, clock
        self._coordination = _tooz(ha.coordination_url)
        self.seconds = max(2, int(ha.lease.total_seconds()))
        self.every = self.seconds / 3  # a refresh every third of the lease: two may fail before it lapses
        self.etcd = ha.coordination_url.startswith("etcd3")
        self._name = name.encode()
        self._coordinator: Any = None
        self._started = False
        self._lock: Any = None  # the lock while this member holds it (or held it, and the service cannot say)
        self._held_until = 0.0  # monotonic: the service confirmed the lease until at least then
        self._next = 0.0
        self.role = Role.STANDBY
        self.trouble: str | None = None  # why the coordination service could not be used, while it cannot

    def _url(self) -> str:
        """The URL with the lease as the lock's time to live and a short timeout for each request."""
        url = self.ha.coordination_url
        options = [f"lock_timeout={self.seconds}", f"timeout={max(1, self.seconds // 3)}"]
        extra = [o for o in options if o.split("=")[0] + "=" not in url]
        return url + ("&" if "?" in url else "?") + "&".join(extra) if extra else url

    def _connect(self) -> Any:
        """The coordinator, started; one object, whose start is tried again while the service cannot be reached."""
        if self._coordinator is None:
            self._coordinator = self._coordination.get_coordinator(self._url(), self.member.encode())
        if not self._started:
            self._coordinator.start(start_heart=False)  # refreshed by tick(): a hung loop must lose the lease
            self._started = True
        return self._coordinator

    def tick(self, force: bool = False) -> Role:
        """Acquire the lease (never waiting) or refresh it, at most every third of the lease unless `force`."""
        now = self._clock()
        if not force and now < self._next:
            return self.role
        self._next = now + self.every
        try:
            coordinator = self._connect()
            if self._lock is not None:
                ttl = self._refresh()
                if ttl > 0:
                    self._held_until = now + ttl
                else:
                    self._lose("its lease lapsed")
            if self._lock is None:
                lock = coordinator.get_lock(self._name)
                if lock.acquire(blocking=False):
                    self._lock, self._held_until = lock, now + self.seconds
                    if self.etcd:
                        coordinator.client.put(HOLDER_PREFIX + self._name.decode(), self.member, lease=lock._lease)
            self.trouble = None
        except Exception as e:  # tooz and its drivers raise their own families, and requests' too
            self._unreachable(e)
        self.role = Role.LEADER if self._lock is not None and self._clock() < self._held_until else Role.STANDBY
        return self.role

    def _refresh(self) -> int:
        if self.etcd:  # the lease's own answer: -1 once it lapsed (Lock.heartbeat() would still say True)
            return int(self._lock._lease.refresh())
        # Another backend: its session kept alive, then the best answer its lock gives (kubernetes asks the Lease
        # object, redis extends the key, the others hold it while the session lives).
        self._coordinator.heartbeat()
        for answer in ("is_still_owner", "heartbeat"):
            if hasattr(self._lock, answer):
                return self.seconds if getattr(self._lock, answer)() else -1
        return self.seconds if self._lock.acquired else -1

    def _lose(self, reason: str) -> None:
        if self._lock is not None:
            log.warning("ha: %s no longer holds the lease (%s)", self.member, reason)
        self._lock, self._held_until, self.role = None, 0.0, Role.STANDBY

    def _unreachable(self, e: Exception) -> None:
        text = f"the coordination service {shown(self.ha.coordination_url)} cannot be reached: {said(e)}"
        if self.trouble is None:
            log.debug("ha: %s", text, exc_info=True)
        self.trouble = text

    def clearance(self, need: float) -> Clearance:
        """May this member send now, the send taking up to `need` seconds? Asked right before each send."""
        now = self._clock()
        if self._lock is None or self.role != Role.LEADER:
            return Clearance.NOT_HELD
        if not self.etcd:
            return Clearance.HELD if now + need < self._held_until else Clearance.LAPSING
        try:
            ttl = self._ask_etcd()
        except Exception as e:
            self._unreachable(e)  # the lease as last confirmed: nobody can take it while the service is down
            return Clearance.HELD if now + need < self._held_until else Clearance.UNREACHABLE
        if ttl is None:
            self._lose("another member holds the lock, or nobody")
            return Clearance.NOT_HELD
        self._held_until = now + ttl
        return Clearance.HELD if ttl >= need else Clearance.LAPSING

    def _ask_etcd(self) -> int | None:
        """The lease's remaining seconds if the lock key is ours (our value, on our lease), else None."""
        client, lock = self._coordinator.client, self._lock
        found = client.get(lock._key, metadata=True)
        if not found:
            return None
        value, meta = found[0]
        if value != base64.b64decode(lock._uuid) or int(meta.get("lease", 0)) != lock._lease.id:
            return None
        ttl = int(lock._lease.ttl())
        return ttl if ttl > 0 else None

    def holder(self) -> str | None:
        """The member holding the lease, as the coordination service says (etcd); raises when it cannot be asked."""
        coordinator = self._connect()
        if not self.etcd:
            return self.member if self.role == Role.LEADER else None
        found = coordinator.client.get(HOLDER_PREFIX + self._name.decode())
        return found[0].decode() if found else None

    def close(self) -> None:
        """A clean stop hands the lease over at once (the standby need not wait for it to lapse)."""
        try:
            if self._lock is not None:
                self._lock.release()
            if self._started:
                self._coordinator.stop()
        except Exception as e:
            log.debug("ha: closing the lease: %s", said(e))
        self._lock, self._coordinator, self._started, self.role = None, None, False, Role.STANDBY


def shown(url: str) -> str:
    """A coordination URL fit for a log line: no password (redis://:secret@host), no options."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('?')[0].rpartition('@')[2]}"


def describe(config: Config, recorded: str | None = None) -> dict:
    """What `status --agent` and `check` say of [ha]: this member, its role, the holder, the service's health.
    etcd names the holder; with another backend the role is the one the running member last recorded (`recorded`)."""
    if config.ha is None:
        return dict(role=str(Role.ALONE), member=None, lease_holder=None, coordination=None)
    lease = Lease(config.ha, lock_name(config))
    try:
        holder, health = lease.holder(), "ok"
    except Exception as e:
        holder, health = None, f"unreachable: {said(e)}"
    finally:
        lease.close()
    role = Role.LEADER if holder == config.ha.member else Role.STANDBY
    if not lease.etcd and health == "ok":
        role, holder = Role(recorded or Role.STANDBY), config.ha.member if recorded == Role.LEADER else None
    service = dict(url=shown(config.ha.coordination_url), health=health, lease=f"{lease.seconds}s")
    return dict(role=str(role), member=config.ha.member, lease_holder=holder, coordination=service)


def open_lease(config: Config) -> Alone | Lease:
    return Alone() if config.ha is None else Lease(config.ha, lock_name(config))
