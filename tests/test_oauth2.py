"""XOAUTH2 for IMAP (Dovecot's oauth2 passdb asking a local token endpoint) and SMTP, end to end."""

import http.server
import json
import sys
import threading

import pytest

from support import LOCAL, T2_ADDR, USERS, AgentProcess, agent_command, send, t1, to, write_config
from tools.localmail import Dovecot, SmtpRelay, free_port

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers

GOOD = "ya29.good-token"


@pytest.fixture
def token_endpoint():
    """A local OAuth2 token-info endpoint: Dovecot asks it whether a bearer token is valid, and for whom."""
    seen = []

    class TokenInfo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            seen.append(token)
            ok = token == GOOD
            body = json.dumps({"email": "watch", "active": True} if ok else {"error": "invalid_token"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), TokenInfo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/tokeninfo?access_token=", seen
    server.shutdown()
    server.server_close()


def token_command(tmp_path, token: str) -> str:
    """A token command as an operator would write one; it counts its runs in a file."""
    script = tmp_path / "get-token"
    script.write_text(
        f"#!{sys.executable}\nimport pathlib\np = pathlib.Path({str(tmp_path / 'runs')!r})\n"
        f"p.write_text(str(int(p.read_text() or 0) + 1) if p.exists() else '1')\nprint({token!r})\n"
    )
    script.chmod(0o755)
    return str(script)


def test_imap_and_smtp_with_xoauth2_escalate_end_to_end(token_endpoint, tmp_path):
    url, seen = token_endpoint
    with (
        Dovecot(USERS, oauth2_tokeninfo_url=url) as dovecot,
        SmtpRelay(dovecot, LOCAL, oauth2_tokens={GOOD: "agent@partner.test"}) as relay,
        SmtpRelay(dovecot, LOCAL) as people,
    ):
        command = token_command(tmp_path, GOOD)
        config = write_config(
            tmp_path,
            dovecot,
            relay,
            imap_password=None,
            imap_auth="xoauth2",
            imap_oauth2_token_command=command,
            smtp_auth="xoauth2",
            smtp_username="agent@partner.test",
            smtp_oauth2_token_command=command,
            escalation_t2_after="2s",
            imap_idle="false",
        )
        check = agent_command(config, "check")
        assert check.returncode == 0, check.stderr
        send(people, t1())
        with AgentProcess(config):
            relay.wait_for(to(T2_ADDR), 15)
    assert GOOD in seen  # Dovecot really asked the endpoint
    assert int((tmp_path / "runs").read_text()) >= 3  # a fresh token on every connect


def test_a_refused_token_and_a_failing_command_are_one_sentence(token_endpoint, tmp_path):
    url, _ = token_endpoint
    with Dovecot(USERS, oauth2_tokeninfo_url=url) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
        bad = write_config(
            tmp_path,
            dovecot,
            relay,
            imap_password=None,
            imap_auth="xoauth2",
            imap_oauth2_token_command=token_command(tmp_path, "expired-token"),
        )
        result = agent_command(bad, "check")
        assert result.returncode == 1
        assert result.stderr.strip() == f"Error: IMAP server 127.0.0.1:{dovecot.imap_port} refused the login for watch"
        failing = write_config(
            tmp_path, dovecot, relay, imap_password=None, imap_auth="xoauth2", imap_oauth2_token_command="false"
        )
        result = agent_command(failing, "check")
        assert result.stderr.strip() == "Error: IMAP: oauth2_token_command exited 1"
        missing = write_config(tmp_path, dovecot, relay, imap_password=None, imap_auth="xoauth2")
        result = agent_command(missing, "check")
        assert result.stderr.strip() == "Error: [imap] oauth2_token_command is required when [imap] auth = xoauth2"
