"""The commands a user types, as processes, against real servers."""

import pytest

from support import T2_ADDR, agent_command, send, status_json, t1, write_config

pytestmark = pytest.mark.e2e  # escalation-agent runs as a process against the real servers


def test_check_reaches_both_servers_and_says_so(servers, tmp_path):
    dovecot, relay = servers
    result = agent_command(write_config(tmp_path, dovecot, relay), "check")
    assert result.returncode == 0, result.stderr
    assert f"IMAP 127.0.0.1:{dovecot.imap_port} INBOX: 0 messages" in result.stdout
    # nothing has been seen of IDLE yet: no promise of push (stock Cyrus offers IDLE and never announces mail)
    assert (
        f"IMAP 127.0.0.1:{dovecot.imap_port} IDLE offered, not yet seen announcing new mail: count on the next poll, "
        "within poll_interval = 1s" in result.stdout
    )
    assert f"SMTP server 127.0.0.1:{relay.port}: connected" in result.stdout


def test_check_with_a_server_down_is_one_sentence_and_exit_1(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay)
    dovecot.stop()
    result = agent_command(config, "check")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: IMAP server 127.0.0.1:{dovecot.imap_port}: connecting failed (Connection refused)"
    ]
    relay.stop()


def test_a_bad_config_value_names_the_key(servers, tmp_path):
    dovecot, relay = servers
    result = agent_command(write_config(tmp_path, dovecot, relay, agent_poll_interval="soon"), "run")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: [agent] poll_interval: 'soon' is not a duration (use e.g. 90, 90s, 30m, 1h)"
    )


def test_status_show_and_resolve(servers, tmp_path):
    dovecot, relay = servers
    config = write_config(tmp_path, dovecot, relay, escalation_t2_after="1h")
    incident = t1()
    send(relay, incident)
    assert agent_command(config, "poll").returncode == 0
    [row] = status_json(config)
    assert set(row) >= {"id", "state", "tier", "subject", "t1_message_id", "next_deadline"}
    assert (row["id"], row["state"], row["tier"]) == (1, "awaiting_response", 1)
    assert row["next_deadline"].endswith("Z")
    table = agent_command(config, "status").stdout
    assert "awaiting_response" in table and "T2 due in 59m" in table

    shown = agent_command(config, "show", "1").stdout
    assert incident["Message-ID"] in shown and "incident_opened" in shown and "decision" in shown

    result = agent_command(config, "resolve", "1", "--note", "fixed on our side")
    assert (result.returncode, result.stdout.strip()) == (0, "incident 1 resolved")
    assert status_json(config)[0]["state"] == "resolved"
    again = agent_command(config, "resolve", "1", "--note", "twice")
    assert (again.returncode, again.stderr.strip()) == (1, "Error: incident 1 is already resolved")
    unknown = agent_command(config, "show", "99")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "Error: there is no incident 99")
    assert relay.wait_for(lambda a: True, 1) and not [a for a in relay.accepted if T2_ADDR in a.rcpt_tos]


def test_check_names_the_step_that_failed_starttls_against_a_server_without_tls(servers, tmp_path):
    dovecot, relay = servers  # the test Dovecot has ssl = no: STARTTLS is refused
    result = agent_command(write_config(tmp_path, dovecot, relay, imap_security="starttls"), "check")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"Error: [imap] security = starttls, but 127.0.0.1:{dovecot.imap_port} does not offer STARTTLS"
    )
