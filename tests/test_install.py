"""scripts/install into a directory root: every role works after it (the service user, an auditor, a second
mailbox through the template unit), and a Python the service user could not run is refused with the fix."""

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.adapters.config import load
from agent.adapters.store import Store
from support import REPO

INSTALL = REPO / "scripts" / "install"
UNIT = REPO / "systemd" / "escalation-agent.service"
TEMPLATE = REPO / "systemd" / "escalation-agent@.service"


def _open_to_all(python: str) -> bool:
    """Whether every directory on the way to this interpreter lets any user through (as the service user needs)."""
    path = os.path.realpath(python)
    while path != "/":
        if not os.stat(path).st_mode & stat.S_IXOTH:
            return False
        path = os.path.dirname(path)
    return True


def _python_for_everyone() -> str:
    """A Python 3.11+ that the service user could run: Debian's, else the one running the tests."""
    for candidate in ("/usr/bin/python3", sys.executable):
        version = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info >= (3, 11))"], capture_output=True, text=True
        )
        if version.stdout.strip() == "True" and _open_to_all(candidate):
            return candidate
    raise AssertionError("no Python 3.11+ outside a closed directory to install with (Debian: apt-get install python3)")


def test_install_refuses_a_python_the_service_user_cannot_run_and_names_the_fix(tmp_path):
    home = tmp_path / "home"  # as pyenv's Python under /root: a directory only its owner may enter
    home.mkdir(mode=0o700)
    venv = subprocess.run(
        [sys.executable, "-m", "venv", "--copies", "--without-pip", str(home / "py")], capture_output=True, text=True
    )
    assert venv.returncode == 0, venv.stderr
    python = home / "py" / "bin" / "python3"
    root = tmp_path / "root"
    result = subprocess.run(
        [str(INSTALL), "--root", str(root), "--python", str(python)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"install: {python} cannot be run by the service user ({os.path.realpath(python)}: {home} is drwx------).",
        "install: use a Python every user can run: --python /usr/bin/python3 (Debian: apt-get install python3-venv)",
    ]
    assert not (root / "opt").exists()  # refused before anything was built


def _database_with_one_incident(path: Path) -> None:
    from agent.core.deciding.effect import NewIncident
    from agent.core.procedure.policy import State

    now = datetime(2026, 12, 1, 11, 15, tzinfo=UTC)
    store = Store(path)
    new = NewIncident(
        State.AWAITING_RESPONSE, "Payouts API: 503", "<t1@partner.test>", "alice@partner.test", (), (), now, "date",
        (), "", b"",
    )  # fmt: skip
    store.add_incident(new, now)
    store.close()


@pytest.mark.integration
def test_install_into_a_root_gives_every_role_a_working_command(tmp_path, monkeypatch):
    root = tmp_path / "root"
    outside = [
        Path("/opt/escalation-agent"),
        Path("/etc/escalation-agent"),
        Path("/etc/systemd/system/escalation-agent.service"),
        Path("/usr/local/bin/escalation-agent"),
        Path("/var/lib/escalation-agent"),
    ]
    before = {p: p.exists() for p in outside}
    command = [str(INSTALL), "--root", str(root), "--python", _python_for_everyone()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr

    # On PATH, with the installed config as its default.
    on_path = root / "usr/local/bin/escalation-agent"
    assert stat.S_IMODE(on_path.stat().st_mode) == 0o755
    version = subprocess.run([str(on_path), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and "0." in version.stdout, version.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("ESCALATION_AGENT_CONFIG", "CREDENTIALS_DIRECTORY")}
    status = subprocess.run([str(on_path), "status"], capture_output=True, text=True, timeout=60, env=env)
    # It read the installed config (and no password: none exists yet) and looked for the database it names.
    assert status.returncode == 1
    assert status.stderr == (
        "Error: the state database /var/lib/escalation-agent/escalation-agent.db does not exist yet: the agent "
        "creates it when it first starts (systemctl start escalation-agent)\n"
    )

    assert (root / "opt/escalation-agent/README.md").read_text() == (REPO / "README.md").read_text()
    etc = root / "etc/escalation-agent"
    config = etc / "config.ini"
    assert stat.S_IMODE(etc.stat().st_mode) == 0o750 and stat.S_IMODE(config.stat().st_mode) == 0o640
    state = root / "var/lib/escalation-agent"
    assert state.is_dir() and stat.S_IMODE(state.stat().st_mode) == 0o750
    text = config.read_text()
    settings = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "database = /var/lib/escalation-agent/escalation-agent.db" in settings
    assert "password_credential = imap-password" in settings
    assert not [line for line in settings if line.startswith("password_file")]
    # Outside systemd (`check` as the service user) the credentials are the files beside config.ini.
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    (etc / "imap-password").write_text("imap-secret\n")
    (etc / "smtp-password").write_text("smtp-secret\n")
    loaded = load(config)
    assert (loaded.imap.password, loaded.smtp.password) == ("imap-secret", "smtp-secret")
    installed_unit = root / "etc/systemd/system/escalation-agent.service"
    assert installed_unit.read_text() == UNIT.read_text()
    assert stat.S_IMODE(installed_unit.stat().st_mode) == 0o644
    assert "systemctl daemon-reload && systemctl enable escalation-agent\n" in result.stdout
    assert "sudo -u escalation-agent escalation-agent check && systemctl start escalation-agent" in result.stdout

    # The auditors' Datasette and canned queries, as README.md tells them to start it.
    database = tmp_path / "escalation-agent.db"
    _database_with_one_incident(database)
    datasette = [str(root / "opt/escalation-agent/venv/bin/datasette"), "serve", str(database)]
    metadata = ["-m", str(root / "opt/escalation-agent/datasette-metadata.json")]
    served = subprocess.run(
        [*datasette, *metadata, "--get", "/escalation-agent/open_incidents.json?_shape=array"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 0 and '"subject": "Payouts API: 503"' in served.stdout, served.stdout + served.stderr

    # A second mailbox on the same host: its own config, state directory and the template unit.
    second = subprocess.run([*command, "--instance", "billing"], capture_output=True, text=True, timeout=900)
    assert second.returncode == 0, second.stdout + second.stderr
    billing = root / "etc/escalation-agent/billing/config.ini"
    assert "database = /var/lib/escalation-agent/billing/escalation-agent.db" in billing.read_text().splitlines()
    assert (root / "var/lib/escalation-agent/billing").is_dir()
    assert (root / "etc/systemd/system/escalation-agent@.service").read_text() == TEMPLATE.read_text()
    assert "systemctl daemon-reload && systemctl enable escalation-agent@billing\n" in second.stdout
    assert (
        "sudo -u escalation-agent escalation-agent -c /etc/escalation-agent/billing/config.ini check" in second.stdout
    )
    # The first one's config was left alone.
    assert "kept the existing" not in second.stdout and config.read_text() == text
    assert {p: p.exists() for p in outside} == before  # nothing outside the root was touched


def test_the_template_unit_is_the_single_units_twin_per_instance():
    single, template = UNIT.read_text().splitlines(), TEMPLATE.read_text().splitlines()
    assert {
        "ExecStart=/opt/escalation-agent/venv/bin/escalation-agent -c /etc/escalation-agent/%i/config.ini run",
        "StateDirectory=escalation-agent/%i",
        "WorkingDirectory=/var/lib/escalation-agent/%i",
        "LoadCredential=imap-password:/etc/escalation-agent/%i/imap-password",
        "LoadCredential=smtp-password:/etc/escalation-agent/%i/smtp-password",
    } <= set(template)
    # Apart from the instance's paths, the same service: the same hardening, the same watchdog.
    settings = [[line for line in lines if line and not line.startswith("#")] for lines in (single, template)]
    assert len(settings[0]) == len(settings[1])
    assert [(a, b) for a, b in zip(*settings, strict=True) if a != b and "%i" not in b] == []
