"""A TLS setting that does not fit the server is said in config.ini's words: the key to change and how, in `check`
and in the daemon's log (real Dovecot and aiosmtpd, with a throwaway private CA)."""

import pytest

from support import agent_command, write_config
from tools.localmail import Dovecot, SmtpRelay

pytestmark = pytest.mark.integration


def check(tmp_path, dovecot, relay, **overrides):
    done = agent_command(write_config(tmp_path, dovecot, relay, **overrides), "check")
    return done.returncode, done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def test_ssl_on_a_plain_imap_port_says_which_security_or_port_to_set(tmp_path):
    with Dovecot({"watch": "watch-pw"}) as dovecot, SmtpRelay(None, {}) as relay:
        code, line = check(tmp_path, dovecot, relay, imap_security="ssl")
    assert code == 1
    assert line.startswith(
        f"Error: [imap] security = ssl, but 127.0.0.1:{dovecot.imap_port} does not answer in TLS (is it a plain or "
        "STARTTLS port?); set security = starttls (usually port 143) or port = 993 [[SSL: WRONG_VERSION_NUMBER]"
    ), line


def test_starttls_where_the_imap_server_offers_none_says_so(tmp_path):
    with Dovecot({"watch": "watch-pw"}) as dovecot, SmtpRelay(None, {}) as relay:
        code, line = check(tmp_path, dovecot, relay, imap_security="starttls")
    assert code == 1 and "[imap] security = starttls, but" in line and "does not offer STARTTLS; set security" in line


def test_a_private_ca_names_ca_file(tmp_path):
    with Dovecot({"watch": "watch-pw"}) as dovecot, SmtpRelay(None, {}, tls="ssl") as relay:
        code, line = check(tmp_path, dovecot, relay, smtp_security="ssl")
        (tmp_path / "ca.pem").write_text(open(relay.ca_file).read())
        fixed, _ = check(tmp_path, dovecot, relay, smtp_security="ssl", smtp_ca_file="ca.pem")
    assert code == 1
    assert line.startswith(
        f"Error: [smtp] ca_file: the certificate of 127.0.0.1:{relay.port} is not trusted (unable to get local issuer "
        "certificate); if the server uses a private or company CA, set ca_file = the CA's PEM file"
    ), line
    assert fixed == 0


def test_a_login_offered_only_after_starttls_says_set_security_starttls(tmp_path):
    with (
        Dovecot({"watch": "watch-pw"}) as dovecot,
        SmtpRelay(None, {}, tls="starttls", auth=("agent", "smtp-pw")) as relay,
    ):
        code, line = check(tmp_path, dovecot, relay, smtp_username="agent", smtp_password="smtp-pw")
    assert code == 1
    assert line == (
        f"Error: [smtp] security = none, but SMTP server 127.0.0.1:{relay.port} offers a login only over TLS; "
        "set security = starttls (usually port 587)"
    )
    assert "smtp-pw" not in line


def test_starttls_where_the_smtp_server_offers_none_says_so_and_the_log_says_it_too(tmp_path):
    with Dovecot({"watch": "watch-pw"}) as dovecot, SmtpRelay(None, {}) as relay:
        code, line = check(tmp_path, dovecot, relay, smtp_security="starttls")
        config = write_config(tmp_path, dovecot, relay, smtp_security="starttls", imap_security="ssl")
        polled = agent_command(config, "poll")
    assert code == 1
    assert line.startswith(f"Error: [smtp] security = starttls, but 127.0.0.1:{relay.port} does not offer STARTTLS")
    assert f"[imap] security = ssl, but 127.0.0.1:{dovecot.imap_port} does not answer in TLS" in polled.stderr
