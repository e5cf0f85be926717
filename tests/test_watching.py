"""The escalation path watches itself (issue 14): a heartbeat to a push monitor, and a chat mirror, both
against a real HTTP server on 127.0.0.1, with the agent as a process against the real mail servers."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support import T2_ADDR, AgentProcess, query, reply, send, t1, to, wait_until, write_config

pytestmark = pytest.mark.e2e


class Recorder:
    """A tiny HTTP server that answers 200 and keeps (monotonic time, method, path, body) of every request."""

    def __init__(self):
        self.requests: list[tuple[float, str, str, bytes]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append((time.monotonic(), self.command, self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = do_POST = _record

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def paths(self) -> list[str]:
        return [path for _, _, path, _ in self.requests]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_the_heartbeat_beats_after_good_cycles_and_reports_a_blind_mailbox_at_once(servers, tmp_path):
    dovecot, relay = servers
    with Recorder() as monitor:
        config = write_config(
            tmp_path, dovecot, relay, agent_heartbeat_url=f"{monitor.url}/ping/abc123", agent_heartbeat_interval="2s"
        )
        with AgentProcess(config) as agent:
            wait_until(lambda: "/ping/abc123" in monitor.paths(), 10, "the first beat")
            time.sleep(2.5)
            wait_until(lambda: monitor.paths().count("/ping/abc123") >= 2, 5, "a beat every heartbeat_interval")
            assert monitor.paths().count("/ping/abc123") <= 3  # not one per cycle (poll_interval is 1s)
            stopped = time.monotonic()
            dovecot.stop()
            wait_until(lambda: "/ping/abc123/fail" in monitor.paths(), 15, "the fail beat")
            failed_at = next(t for t, _, path, _ in monitor.requests if path.endswith("/fail"))
            output = agent.output()
    latency = failed_at - stopped
    assert latency < 5, latency
    assert "abc123" not in output  # the push URL's secret is never logged
    print(f"heartbeat /fail {latency:.2f} s after the IMAP server stopped")


def test_the_chat_mirror_posts_one_line_per_event_the_channel_cares_about(servers, tmp_path):
    dovecot, relay = servers
    with Recorder() as chat:
        config = write_config(tmp_path, dovecot, relay, agent_webhook_url=f"{chat.url}/hooks/xyz")
        db = tmp_path / "state.db"
        with AgentProcess(config):
            incident = t1()
            send(relay, incident)
            [esc] = [a for a in relay.wait_for(to(T2_ADDR), 15) if T2_ADDR in a.rcpt_tos]
            send(relay, reply(esc.message(), sender="manager@vendor.test"))
            wait_until(lambda: query(db, "SELECT state FROM incidents") == [("responded",)], 10, "responded")
            wait_until(lambda: len(chat.requests) >= 3, 10, "three chat lines")
    lines = [json.loads(body)["text"] for _, method, _, body in chat.requests if method == "POST"]
    subject = incident["Subject"]
    assert lines == [
        f"[incident 1] opened (T1 seen): {subject}",
        f"[incident 1] T2 sent: {subject}",
        f"[incident 1] vendor responded (manager@vendor.test): {subject}",
    ]
