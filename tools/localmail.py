"""Throwaway real mail servers on 127.0.0.1 for tests and demos.

`Dovecot` runs a private Dovecot (IMAP + LMTP) from a config written into its own directory;
`SmtpRelay` is an aiosmtpd server that records what it accepts and hands copies for local
addresses to that Dovecot over LMTP before answering 250. `local_mail()` starts both.

Both are torn down by pid / by their own controller, never by process name, and the Dovecot master
gets PR_SET_PDEATHSIG so it dies with the thread that started it (start it from a long-lived thread).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ctypes
import email
import email.policy
import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

from imapclient import IMAPClient

HOST = "127.0.0.1"
TIMEOUT = 10.0  # seconds, for every client socket we open


def free_port() -> int:
    """A port that was free a moment ago (racy, but good enough on a quiet test box)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# resolved before any fork: dlopen() in a child forked from a threaded parent can deadlock
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def _die_with_parent(parent: int) -> Callable[[], None]:
    def preexec() -> None:
        _prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _is_alive(pid: int, tag: str) -> bool:
    """`pid` runs, is no zombie, and its title still names our instance (guards pid reuse)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z" and tag in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except (OSError, IndexError):
        return False


def _wait_greeting(port: int, prefix: bytes, deadline: float, alive: Callable[[], bool]) -> bool:
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as s:
                if s.recv(512).startswith(prefix):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Dovecot:
    """A throwaway Dovecot on 127.0.0.1 (IMAP and LMTP), stopped by its own pid."""

    def __init__(self, users: dict[str, str], root: Path | None = None, oauth2_tokeninfo_url: str | None = None):
        for name, password in users.items():
            # auth_username_format=%Ln lowercases logins, so "Alice" could never log in
            if not name or any(c in name + password for c in ":\n\r") or name != name.lower():
                raise ValueError(f"unusable user/password for a passwd-file: {name!r}")
        self.users = dict(users)
        # With a token-info URL, XOAUTH2/OAUTHBEARER logins are checked there (Dovecot's oauth2 passdb).
        self.oauth2_tokeninfo_url = oauth2_tokeninfo_url
        self._own_root = root is None or not Path(root).exists()
        self.root = Path(root or tempfile.mkdtemp(prefix="ea-dc-", dir="/tmp"))
        if len(str(self.root)) > 60:  # base_dir sockets live below it; sun_path is ~108 bytes
            raise ValueError(f"root path too long for Dovecot's unix sockets: {self.root}")
        self.host = HOST
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.conf = self.root / "dovecot.conf"
        self.proc: subprocess.Popen | None = None
        self._last_log = ""

    def _write_config(self) -> None:
        r = self.root
        self.root.mkdir(parents=True, exist_ok=True)
        # the auth process runs as `dovecot` and must read the passwd-file through this dir
        r.chmod(0o755)
        if os.geteuid() == 0:
            # Dovecot refuses uid 0 for mail and for its login/internal processes
            uid, gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
            login_user, internal_user, chroot = "dovenull", "dovecot", None
        else:
            uid, gid = os.getuid(), os.getgid()
            login_user = internal_user = pwd.getpwuid(uid).pw_name
            chroot = "chroot ="  # chroot needs root
        (r / "home").mkdir(exist_ok=True)
        for name in self.users:
            (r / "home" / name).mkdir(mode=0o700, exist_ok=True)
            os.chown(r / "home" / name, uid, gid)
        passwd = r / "passwd"
        passwd.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self.users.items()))
        passwd.chmod(0o644)
        mechanisms, oauth2_passdb = "plain login", ""
        if self.oauth2_tokeninfo_url:
            mechanisms += " xoauth2 oauthbearer"
            (r / "oauth2.conf").write_text(
                f"tokeninfo_url = {self.oauth2_tokeninfo_url}\nintrospection_mode = auth\nusername_attribute = email\n"
            )
            oauth2_passdb = (
                f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {r}/oauth2.conf\n}}\n"
            )
        self.conf.write_text(f"""\
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
instance_name = {r.name}
listen = {HOST}
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_username_format = %Ln
mail_location = maildir:~/Maildir
postmaster_address = postmaster@localhost
default_login_user = {login_user}
default_internal_user = {internal_user}
{oauth2_passdb}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={r}/home/%Ln allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  {chroot or ""}
}}
service anvil {{
  {chroot or ""}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {self.lmtp_port}
  }}
}}
""")

    def start(self) -> Dovecot:
        if self.proc is not None:
            return self
        self._write_config()
        with open(self.root / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen(
                ["dovecot", "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        deadline = time.monotonic() + 10
        alive = lambda: self.proc.poll() is None  # noqa: E731
        if not (
            _wait_greeting(self.imap_port, b"* OK", deadline, alive)
            and _wait_greeting(self.lmtp_port, b"220", deadline, alive)
        ):
            code, log = self.proc.poll(), self.log_text()
            self.stop()
            raise RuntimeError(
                f"Dovecot did not come up (exit code {code}); log tail:\n" + "\n".join(log.splitlines()[-30:])
            )
        return self

    def _children(self) -> list[int]:
        try:
            tasks = Path(f"/proc/{self.proc.pid}/task")
            return [int(p) for t in tasks.iterdir() for p in (t / "children").read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        if self.proc is not None:
            children = self._children()  # remembered so stragglers can be reaped by pid
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            # The master exits after ~1 s but its children (log, auth, ...) linger ~1.3 s more;
            # nudging them (by pid) once the master is gone keeps stop() fast and its log clean.
            for sig, grace in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 1.0)):
                alive = [p for p in children if _is_alive(p, self.root.name)]
                for pid in alive:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                deadline = time.monotonic() + grace
                while any(_is_alive(p, self.root.name) for p in alive) and time.monotonic() < deadline:
                    time.sleep(0.02)
            self._last_log = self.log_text()
            self.proc = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log_text(self) -> str:
        """Dovecot's log (and its stderr); after stop(), what it was at stop time."""
        parts = [(self.root / n) for n in ("stderr.log", "dovecot.log")]
        text = "".join(p.read_text(errors="replace") for p in parts if p.exists())
        return text or self._last_log

    def deliver(self, user: str, raw: bytes, mail_from: str = "sender@localhost") -> None:
        with smtplib.LMTP(HOST, self.lmtp_port, local_hostname="localhost", timeout=TIMEOUT) as c:
            c.sendmail(mail_from, [f"{user}@localhost"], raw)

    @contextmanager
    def imap(self, user: str) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient (normalise_times off, so INTERNALDATE keeps its zone)."""
        client = IMAPClient(HOST, port=self.imap_port, ssl=False, timeout=TIMEOUT)
        client.normalise_times = False
        try:
            client.login(user, self.users[user])
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def append(self, user: str, raw: bytes, folder: str = "INBOX", internaldate: datetime | None = None) -> None:
        with self.imap(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            c.append(folder, raw, msg_time=internaldate)

    def messages(self, user: str, folder: str = "INBOX") -> dict[int, bytes]:
        """UID -> raw message, read without setting \\Seen."""
        with self.imap(user) as c:
            c.select_folder(folder, readonly=True)
            uids = c.search(["ALL"])
            return {u: d[b"BODY[]"] for u, d in c.fetch(uids, ["BODY.PEEK[]"]).items()} if uids else {}

    def doveadm(self, *args: str) -> str:
        res = subprocess.run(["doveadm", "-c", str(self.conf), *args], capture_output=True, text=True, timeout=TIMEOUT)
        if res.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed ({res.returncode}): {res.stderr}")
        return res.stdout

    def set_uid_validity(self, user: str, value: int, folder: str = "INBOX") -> None:
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)


@dataclass
class Accepted:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    accepted_at: float  # time.time() when the final DATA reply was answered

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


def _make_certs(d: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server cert for 127.0.0.1/localhost, via the openssl CLI."""
    ca_key, ca, key, csr, cert, ext = (d / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext"))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    for cmd in (
        [
            "req",
            "-x509",
            *ec,
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "2",
            "-subj",
            "/CN=localmail CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        ["req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            cert,
        ],
    ):
        subprocess.run(["openssl", *map(str, cmd)], check=True, capture_output=True, timeout=30)
    return ca, cert, key


class _Handler:
    def __init__(self, relay: SmtpRelay):
        self.relay = relay

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        # Enforced here rather than by aiosmtpd's auth_required, which warns on every connection
        # unless AUTH also requires STARTTLS (it does not count implicit TLS as TLS).
        if (self.relay.auth or self.relay.oauth2_tokens) and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def auth_XOAUTH2(self, server, args):
        """RFC 7628-style XOAUTH2 (Google, Microsoft): base64 of user=U^Aauth=Bearer T^A^A."""
        import base64

        from aiosmtpd.smtp import AuthResult, LoginPassword

        blob = args[1] if len(args) > 1 else await server.challenge_auth("")
        try:
            text = base64.b64decode(blob if isinstance(blob, (str, bytes)) else b"").decode()
            fields = dict(f.split("=", 1) for f in text.split("\x01") if "=" in f)
            user, token = fields["user"], fields["auth"].removeprefix("Bearer ")
        except Exception:
            return AuthResult(success=False, handled=False)
        ok = self.relay.oauth2_tokens.get(token) == user
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user.encode(), b""))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.lower() in self.relay.refuse:
            return "550 5.1.1 Recipient rejected (test relay)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        r = self.relay
        rec = Accepted(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, 0.0)
        if r.max_size is not None and len(envelope.original_content or b"") > r.max_size:
            rec.accepted_at = time.time()
            with r._lock:
                r.rejected.append(rec)
            return "552 5.3.4 Message size exceeds fixed maximum message size (test relay)"
        if r.mode != "accept":
            rec.accepted_at = time.time()
            with r._lock:
                r.rejected.append(rec)
            return (
                "451 4.3.0 Try again later (test relay)" if r.mode == "tempfail" else "554 5.7.1 Rejected (test relay)"
            )
        # one copy per mailbox, like an MTA's duplicate elimination after alias expansion
        users = dict.fromkeys(r.local[a.lower()] for a in rec.rcpt_tos if a.lower() in r.local)
        loop = asyncio.get_running_loop()
        try:
            for user in users:  # blocking smtplib goes to a thread, the loop keeps serving others
                await loop.run_in_executor(r._pool, r.dovecot.deliver, user, rec.data, rec.mail_from)
        except Exception as exc:
            return f"451 4.3.0 Local delivery failed: {exc!r}"[:500]
        if r.stall_after_accept > 0:
            await asyncio.sleep(r.stall_after_accept)
        rec.accepted_at = time.time()
        with r._lock:
            r.accepted.append(rec)
        return "250 2.0.0 OK"


class SmtpRelay:
    """A real SMTP server (aiosmtpd) that records every accepted mail and delivers copies for
    local addresses into Dovecot over LMTP (answering 250 only once they are delivered)."""

    def __init__(
        self,
        dovecot: Dovecot | None,
        local: dict[str, str],
        *,
        port: int | None = None,
        auth: tuple[str, str] | None = None,
        tls: str = "none",
        oauth2_tokens: dict[str, str] | None = None,
        stall_after_accept: float = 0.0,
        max_size: int | None = None,
    ):
        if tls not in ("none", "starttls", "ssl"):
            raise ValueError(f"tls must be none, starttls or ssl, not {tls!r}")
        if local and dovecot is None:
            raise ValueError("local addresses need a Dovecot to deliver to")
        unknown = set(local.values()) - set(dovecot.users if dovecot else ())
        if unknown:
            raise ValueError(f"local maps to users Dovecot does not have: {sorted(unknown)}")
        self.dovecot, self.local = dovecot, {a.lower(): u for a, u in local.items()}
        self.host, self.port = HOST, port or free_port()
        self.auth, self.tls, self.stall_after_accept = auth, tls, stall_after_accept
        # issue 21.3: a relay that refuses mail over this many bytes at DATA, as Postfix does (552 5.3.4)
        self.max_size = max_size
        self.oauth2_tokens = dict(oauth2_tokens or {})  # access token -> user, for AUTH XOAUTH2
        self.mode = "accept"  # or "tempfail" / "permfail"; read at each DATA
        self.refuse: set[str] = set()  # recipient addresses answered 550 at RCPT
        self.accepted: list[Accepted] = []
        self.rejected: list[Accepted] = []  # mails answered 451/554 because of `mode`
        self.ca_file: str | None = None
        self._lock = threading.Lock()
        self._controller = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._certdir: Path | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        ok = (
            self.auth is not None
            and getattr(auth_data, "login", None) is not None
            and (auth_data.login.decode(errors="replace"), auth_data.password.decode(errors="replace"))
            == tuple(self.auth)
        )
        # handled=False makes aiosmtpd answer 535 itself; the default (True) answers nothing
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> SmtpRelay:
        from aiosmtpd.controller import Controller

        if self._controller is not None:
            return self
        tls_ctx = None
        if self.tls != "none":
            self._certdir = Path(tempfile.mkdtemp(prefix="ea-smtp-"))
            ca, cert, key = _make_certs(self._certdir)
            self.ca_file = str(ca)
            tls_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls_ctx.load_cert_chain(cert, key)
        self._pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="relay-lmtp")
        self._controller = Controller(
            _Handler(self),
            hostname=HOST,
            port=self.port,
            server_hostname="localhost",
            ready_timeout=TIMEOUT,
            timeout=60,
            ssl_context=tls_ctx if self.tls == "ssl" else None,
            tls_context=tls_ctx if self.tls == "starttls" else None,
            require_starttls=self.tls == "starttls",
            auth_require_tls=self.tls == "starttls",  # implicit TLS does not count for aiosmtpd
            authenticator=self._authenticate if self.auth or self.oauth2_tokens else None,
        )
        try:
            self._controller.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop(no_assert=True)
            self._controller = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._certdir is not None:
            shutil.rmtree(self._certdir, ignore_errors=True)
            self._certdir = self.ca_file = None

    def __enter__(self) -> SmtpRelay:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_for(self, predicate: Callable[[list[Accepted]], bool], timeout: float) -> list[Accepted]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                snapshot = list(self.accepted)
            if predicate(snapshot):
                return snapshot
            if time.monotonic() >= deadline:
                lines = [f"  {a.mail_from} -> {a.rcpt_tos}: {a.message()['subject']!r}" for a in snapshot]
                raise AssertionError(
                    f"relay: condition not met within {timeout}s; {len(snapshot)} accepted:\n" + "\n".join(lines)
                )
            time.sleep(0.05)

    _DEFAULT = object()

    def send(
        self,
        raw: bytes | EmailMessage,
        mail_from: str,
        rcpt_tos: list[str],
        *,
        credentials: tuple[str, str] | None | object = _DEFAULT,
    ) -> None:
        """Send through this relay as a client would; credentials default to `auth`."""
        if isinstance(raw, EmailMessage):
            raw = raw.as_bytes(policy=email.policy.SMTP)
        creds = self.auth if credentials is self._DEFAULT else credentials
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.tls != "none" else None
        if self.tls == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, local_hostname="localhost", timeout=TIMEOUT, context=ctx)
        else:
            client = smtplib.SMTP(self.host, self.port, local_hostname="localhost", timeout=TIMEOUT)
        with client:
            if self.tls == "starttls":
                client.starttls(context=ctx)
            if creds:
                client.login(*creds)
            client.sendmail(mail_from, rcpt_tos, raw)


@contextmanager
def local_mail(users: dict[str, str], local: dict[str, str], **relay_kwargs) -> Iterator[tuple[Dovecot, SmtpRelay]]:
    with Dovecot(users) as dovecot, SmtpRelay(dovecot, local, **relay_kwargs) as relay:
        yield dovecot, relay


if __name__ == "__main__":  # python -m tools.localmail: servers to poke at by hand
    with local_mail({"support": "secret"}, {"support@example.com": "support"}) as (dc, relay):
        print(
            f"IMAP {dc.host}:{dc.imap_port} support/secret; LMTP :{dc.lmtp_port}; "
            f"SMTP {relay.host}:{relay.port} (support@example.com is local); "
            f"doveadm -c {dc.conf}\nCtrl-C to stop."
        )
        try:
            signal.pause()
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip cleanup
