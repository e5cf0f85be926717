"""The AGCOD probe (agent/adapters/agcod.py) against a stand-in API on 127.0.0.1 that checks its SigV4 signature with
botocore and answers as the API does. Never a real endpoint: every call here goes to --endpoint http://127.0.0.1."""

import subprocess
import sys
import time

import pytest
from agcod_server import ACCESS_KEY, REQUEST_ID, SECRET_KEY, Agcod

from agent.adapters import agcod

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(tmp_path):
    path = tmp_path / "agcod-keys"
    path.write_text(f"{ACCESS_KEY}\n{SECRET_KEY}\n")
    path.chmod(0o600)
    return path


def probe(capsys, api, keys, *extra):
    status = agcod.main(
        ["--region", "NA", "--partner-id", "Acmes", "--key-file", str(keys), "--endpoint", api.url, *extra]
    )
    return status, capsys.readouterr().out.strip()


def test_the_region_endpoints_and_their_sandboxes():
    assert agcod.endpoint("NA", False) == ("https://agcod-v2.amazon.com", "us-east-1")
    assert agcod.endpoint("EU", True) == ("https://agcod-v2-eu-gamma.amazon.com", "eu-west-1")
    assert agcod.endpoint("FE", True) == ("https://agcod-v2-fe-gamma.amazon.com", "us-west-2")


def test_a_signed_call_that_succeeds_exits_0_with_the_status_as_evidence(capsys, keys):
    with Agcod() as api:
        assert probe(capsys, api, keys) == (0, f"200 SUCCESS requestId={REQUEST_ID}")
        assert api.good == 1


def test_an_f500_is_a_failure_with_its_code_and_type(capsys, keys):
    with Agcod(mode="f500") as api:
        assert probe(capsys, api, keys) == (1, f"F500 GeneralError requestId={REQUEST_ID}")


def test_an_f300_funds_error_is_a_failure_the_core_reads_as_not_urgent(capsys, keys):
    from datetime import UTC, datetime

    from agent.core.procedure import probe as core

    with Agcod(mode="f300") as api:
        status, line = probe(capsys, api, keys)
    assert (status, line) == (1, f"F300 InsufficientFunds requestId={REQUEST_ID}")
    assert core.answer(core.Run(datetime.now(UTC), False, line)) == core.Answer.NOT_URGENT


def test_the_region_is_part_of_the_signature(capsys, keys):
    with Agcod(region="eu-west-1") as api:
        assert probe(capsys, api, keys)[0] == 1  # signed for us-east-1: refused
        status, line = (
            agcod.main(["--region", "EU", "--partner-id", "Acmes", "--key-file", str(keys), "--endpoint", api.url]),
            capsys.readouterr().out.strip(),
        )
        assert status == 0 and line.startswith("200 SUCCESS")


def test_a_wrong_secret_is_refused_and_never_printed(capsys, tmp_path):
    wrong = tmp_path / "wrong"
    wrong.write_text(f"{ACCESS_KEY}\nnot-the-secret-Xq9\n")
    with Agcod() as api:
        status, line = probe(capsys, api, wrong)
    assert (status, line) == (1, f"F200 InvalidSignature requestId={REQUEST_ID}")
    assert "not-the-secret" not in line and api.good == 0


def test_an_api_that_does_not_answer_fails_at_the_timeout(capsys, keys):
    with Agcod(mode="hang") as api:
        started = time.monotonic()
        status, line = probe(capsys, api, keys, "--timeout", "1")
        assert time.monotonic() - started < 10
    assert status == 1 and line.startswith("no answer from 127.0.0.1") and "timed out" in line


def test_missing_keys_are_a_misconfiguration_named_by_its_option(capsys, tmp_path, monkeypatch):
    with Agcod() as api:
        assert probe(capsys, api, tmp_path / "absent") == (
            2,
            f"probe misconfigured: --key-file: cannot read {tmp_path / 'absent'} (No such file or directory)",
        )
        monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
        status = agcod.main(
            ["--region", "NA", "--partner-id", "Acmes", "--key-credential", "agcod", "--endpoint", api.url]
        )
        assert status == 2 and "CREDENTIALS_DIRECTORY" in capsys.readouterr().out
        assert api.calls == 0


def test_keys_from_a_systemd_credential(capsys, keys, monkeypatch):
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(keys.parent))
    with Agcod() as api:
        status = agcod.main(
            ["--region", "NA", "--partner-id", "Acmes", "--key-credential", keys.name, "--endpoint", api.url]
        )
        assert status == 0 and capsys.readouterr().out.startswith("200 SUCCESS")


def test_it_runs_as_a_probe_command(keys):
    with Agcod(mode="f500") as api:
        done = subprocess.run(
            [sys.executable, "-m", "agent.adapters.agcod", "--region", "NA", "--partner-id", "Acmes"]
            + ["--key-file", str(keys), "--endpoint", api.url],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert done.returncode == 1 and done.stdout.startswith("F500 GeneralError")
