from datetime import timedelta
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.ini import parse_duration
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
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.ini"
    path.write_text(text)
    return path


def warnings(cfg) -> tuple[str, ...]:
    """The config's warnings but the one about a password in a file others can read (these files are 0644)."""
    return tuple(w for w in cfg.warnings if "readable by every user" not in w)


def test_defaults_are_the_sops(tmp_path):
    cfg = load(write(tmp_path, MINIMAL))
    assert cfg.escalation.t1_address == "amazon-agcod-partner-urgent@amazon.com"
    assert cfg.escalation.t2_after == timedelta(minutes=30)
    assert cfg.escalation.t3_after == timedelta(minutes=30)
    # every domain the SOP names, then the vendor's marketplace domains
    sop_names = ("amazon.com", "amazon.co.uk", "amazon.de", "amazon.fr", "amazon.es", "amazon.it", "amazon.nl")
    assert cfg.escalation.responder_domains[:7] == sop_names
    assert {"amazon.co.jp", "amazon.com.au", "amazon.sg", "amazon.ae", "amazon.ca"} <= set(
        cfg.escalation.responder_domains
    )
    assert warnings(cfg) == ()  # the SOP's tier addresses are all covered
    assert cfg.imap.port == 993 and cfg.imap.security == "ssl" and cfg.imap.folders == ("INBOX",)
    assert cfg.imap.address == "watch@partner.test"
    assert cfg.smtp.port == 587 and cfg.smtp.username is None
    assert cfg.agent.database == tmp_path / "state/escalation-agent.db"
    assert cfg.agent.max_incident_age == timedelta(hours=24)


def test_the_shipped_config_ini_parses_apart_from_its_password_files(tmp_path):
    shipped = (Path(__file__).parent.parent / "config.ini").read_text()
    (tmp_path / "pw").write_text("x\n")
    cfg = load(
        write(
            tmp_path,
            shipped.replace("/etc/escalation-agent/imap-password", "pw").replace(
                "/etc/escalation-agent/smtp-password", "pw"
            ),
        )
    )
    assert cfg.escalation.t2_address == "amazon-agcod-partner-urgent-t2@amazon.com"
    assert cfg.agent.poll_interval == 60 and cfg.agent.dry_run is False


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("30m", 1800), ("1h", 3600), (" 2d ", 172800)])
def test_durations(text, seconds):
    assert parse_duration(text, "k") == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "change, message",
    [
        (("security = ssl", "security = tls"), "[imap] security: 'tls' is not one of ssl, starttls, none"),
        (
            ("host = 127.0.0.1\nusername", "host = 127.0.0.1\nport = 99999\nusername"),
            "[imap] port: 99999 is outside 1..65535",
        ),
        (("internal_domains = partner.test", "internal_domains ="), "[escalation] internal_domains is required"),
        (
            ("internal_domains = partner.test", "internal_domains = partner.test\nt2_after = soon"),
            "[escalation] t2_after: 'soon' is not a duration",
        ),
        (("from_address = agent@partner.test", "from_address = agent"), "[smtp] from_address: 'agent' is not an email"),
        (
            ("password = s3cret-imap", ""),
            "[imap] password, [imap] password_file or [imap] password_credential is required",
        ),
        (
            ("internal_domains = partner.test", "internal_domains = partner.test\nresponder_domains = partner.test"),
            "both hold partner.test",
        ),
    ],
)
def test_a_wrong_value_names_its_key(tmp_path, change, message):
    text = MINIMAL.replace("[imap]\n", "[imap]\nsecurity = ssl\n").replace(*change)
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, text))
    assert message in str(e.value)
    assert "s3cret" not in str(e.value)


def test_every_time_value_takes_the_duration_syntax(tmp_path):
    text = MINIMAL.replace("password = s3cret-imap", "password = s3cret-imap\ntimeout = 1m") + (
        "t2_after = 45m\n[agent]\npoll_interval = 30s\nmax_incident_age = 2d\n"
    )
    cfg = load(write(tmp_path, text))
    assert (cfg.agent.poll_interval, cfg.imap.timeout) == (30, 60.0)
    assert cfg.escalation.t2_after == timedelta(minutes=45) and cfg.agent.max_incident_age == timedelta(days=2)
    assert load(write(tmp_path, MINIMAL + "[agent]\npoll_interval = 90\n")).agent.poll_interval == 90
    with pytest.raises(ConfigError, match=r"\[agent\] poll_interval: 7200s is outside 1s..3600s"):
        load(write(tmp_path, MINIMAL + "[agent]\npoll_interval = 2h\n"))
    with pytest.raises(ConfigError, match=r"\[agent\] poll_interval: 'often' is not a duration"):
        load(write(tmp_path, MINIMAL + "[agent]\npoll_interval = often\n"))


def test_a_username_that_is_no_address_falls_back_to_the_from_address_and_says_so(tmp_path):
    cfg = load(write(tmp_path, MINIMAL.replace("username = watch@partner.test", "username = watch")))
    assert cfg.imap.address == "agent@partner.test"
    [warning] = warnings(cfg)
    assert "[imap] username 'watch' is not an address" in warning and "agent@partner.test" in warning
    explicit = MINIMAL.replace("username = watch@partner.test", "username = watch\naddress = watch@partner.test")
    cfg = load(write(tmp_path, explicit))
    assert (cfg.imap.address, warnings(cfg)) == ("watch@partner.test", ())


def test_a_tier_address_outside_responder_domains_and_nested_domains_are_warned(tmp_path):
    text = MINIMAL + "t1_address = urgent@vendor.test\nt2_address = t2@vendor.test\nt3_address = t3@other.test\n"
    text += "responder_domains = vendor.test\n"
    [warning] = warnings(load(write(tmp_path, text)))
    assert warning.startswith("[escalation] t3_address t3@other.test is not in responder_domains")
    nested = text.replace("t3@other.test", "t3@vendor.test").replace(
        "internal_domains = partner.test", "internal_domains = partner.test, eu.vendor.test"
    )
    [warning] = warnings(load(write(tmp_path, nested)))
    assert "internal_domains holds eu.vendor.test and responder_domains holds vendor.test" in warning


def test_password_file_is_read_and_never_shown(tmp_path):
    (tmp_path / "pw").write_text("from-file\n")
    cfg = load(write(tmp_path, MINIMAL.replace("password = s3cret-imap", "password_file = pw")))
    assert cfg.imap.password == "from-file"
    assert "from-file" not in repr(cfg)
    with pytest.raises(ConfigError, match=r"\[imap\] password_file: cannot read"):
        load(write(tmp_path, MINIMAL.replace("password = s3cret-imap", "password_file = missing")))


def test_a_missing_or_broken_file_is_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.ini")
    with pytest.raises(ConfigError, match="not valid INI"):
        load(write(tmp_path, "no section here\n"))


def test_a_systemd_credential_is_read_from_the_credentials_directory(tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "imap-password").write_text("from-systemd\n")
    text = MINIMAL.replace("password = s3cret-imap", "password_credential = imap-password")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(ConfigError, match=r"\[imap\] password_credential: imap-password is neither in "):
        load(write(tmp_path, text))
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    assert load(write(tmp_path, text)).imap.password == "from-systemd"
    # Outside systemd (`check` as the service user): the file LoadCredential= reads, beside config.ini.
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    (tmp_path / "imap-password").write_text("beside-config\n")
    assert load(write(tmp_path, text)).imap.password == "beside-config"


def test_a_plain_password_in_a_world_readable_file_earns_a_warning(tmp_path):
    path = write(tmp_path, MINIMAL)
    path.chmod(0o644)
    [warning] = load(path).warnings
    assert "[imap] password" in warning and "readable by every user" in warning
    assert "s3cret" not in warning
    path.chmod(0o640)
    assert load(path).warnings == ()
