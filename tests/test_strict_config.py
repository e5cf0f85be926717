"""A config that cannot lie: a section or key the loader never reads is an error naming the likely intended one."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.adapters.config import load
from agent.cli import cli
from agent.core.errors import ConfigError

MINIMAL = """
[imap]
host = 127.0.0.1
username = watch@partner.test
password = s3cret-imap
[smtp]
host = 127.0.0.1
from_address = agent@partner.test
[escalation]
internal_domains = partner.test
[agent]
database = state.db
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.ini"
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(
    "extra, message",
    [
        ("[agnet]\ndry_run = true\n", "[agnet]: no such section; did you mean [agent]?"),
        ("[smpt]\nport = 25\n", "[smpt]: no such section; did you mean [smtp]?"),
        (
            "[mailbox]\nhost = x\n",
            "[mailbox]: no such section (known: [agent], [drill], [escalation], [ha], [imap], [operations], [probe], "
            "[smtp])",
        ),
    ],
)
def test_an_unknown_section_is_an_error_naming_the_likely_one(tmp_path, extra, message):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, MINIMAL + extra))
    assert str(e.value) == message


def test_an_unknown_key_is_an_error_naming_the_likely_one(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, MINIMAL + "pol_interval = 30s\n"))
    assert str(e.value) == "[agent] pol_interval: no such key; did you mean poll_interval?"
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, MINIMAL.replace("[smtp]\n", "[smtp]\nsecurty = ssl\n")))
    assert str(e.value) == "[smtp] securty: no such key; did you mean security?"


def test_several_unknown_names_are_counted_and_a_misspelt_required_key_is_pointed_at(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, MINIMAL + "dryrun = true\n[agnet]\n"))
    assert str(e.value) == "[agent] dryrun: no such key; did you mean dry_run? (and 1 more)"  # in file order
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, MINIMAL.replace("username =", "usrname =")))
    assert str(e.value) == "[imap] username is required (is usrname a misspelling of it?)"


def test_optional_sections_may_be_absent_and_operations_takes_any_country(tmp_path):
    cfg = load(write(tmp_path, MINIMAL + "[operations]\nzz = ops-zz@partner.test\n[drill]\n"))
    assert ("ZZ", "ops-zz@partner.test") in cfg.escalation.operations
    assert cfg.escalation.drill is None


def test_the_password_keys_are_known_even_when_no_secret_is_read(tmp_path):
    (tmp_path / "pw").write_text("from-file\n")
    path = write(tmp_path, MINIMAL.replace("password = s3cret-imap", "password_file = pw"))
    assert load(path, secrets=False).imap.password is None
    assert load(path).imap.password == "from-file"


@pytest.mark.parametrize("command", ["check", "run", "status", "poll"])
def test_a_typo_stops_every_command_before_it_touches_the_database(tmp_path, command):
    path = write(tmp_path, MINIMAL + "[agnet]\ndry_run = true\n")
    result = CliRunner().invoke(cli, ["-c", str(path), command])
    assert result.exit_code == 1
    assert result.output == "Error: [agnet]: no such section; did you mean [agent]?\n"
    assert not (tmp_path / "state.db").exists()


def test_the_readmes_minimal_configs_load_as_they_are(tmp_path, monkeypatch):
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    blocks = re.findall(r"```ini\n(.*?)```", readme, re.S)
    assert len(blocks) == 3  # Microsoft 365, Gmail, a server with passwords
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "imap-password").write_text("imap-secret\n")
    (credentials / "smtp-password").write_text("smtp-secret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    hosts = []
    for block in blocks:
        cfg = load(write(tmp_path, block))
        assert cfg.agent.dry_run and cfg.escalation.internal_domains == ("example.com",)
        hosts.append((cfg.imap.host, cfg.imap.auth, cfg.smtp.host, cfg.smtp.port))
    assert hosts == [
        ("outlook.office365.com", "xoauth2", "smtp.office365.com", 587),
        ("imap.gmail.com", "xoauth2", "smtp.gmail.com", 587),
        ("mail.example.com", "password", "mail.example.com", 587),
    ]
