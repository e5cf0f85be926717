"""The AGCOD probe: one read-only GetAvailableFunds call (it moves no money) on the region's endpoint, signed with AWS
Signature Version 4 (service AGCODService) by botocore's signer. Run as [probe] command:

    command = /opt/escalation-agent/bin/python -m agent.adapters.agcod --region NA --partner-id Acmes
              --key-file /etc/escalation-agent/agcod-keys

It prints one line, the evidence (`200 SUCCESS requestId=…`, `F500 GeneralError requestId=…`), and exits 0 when the
API answered, 1 when it failed, 2 when the probe itself is misconfigured (a missing key file, no botocore). The keys
(the access key id on the first line, the secret key on the second) come from a file or a systemd credential, like
the passwords; they never reach the output. docs/probe.md says more."""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

SERVICE = "AGCODService"
TARGET = "com.amazonaws.agcod.AGCODService.GetAvailableFunds"
# Region -> (host, AWS region) as the vendor publishes them; the sandbox adds -gamma to the host's first label.
REGIONS = {
    "NA": ("agcod-v2.amazon.com", "us-east-1"),  # US, CA, MX
    "EU": ("agcod-v2-eu.amazon.com", "eu-west-1"),  # UK, DE, FR, IT, ES, NL, SE, PL, TR, UAE, KSA
    "FE": ("agcod-v2-fe.amazon.com", "us-west-2"),  # JP, AU, SG
}
TIMEOUT = 6.0  # seconds: the vendor's recommended client timeout
OK, FAILS, MISCONFIGURED = 0, 1, 2


class Misconfigured(Exception):
    """The probe cannot ask at all: its words name the option and the fix, never a secret."""


def endpoint(region: str, sandbox: bool) -> tuple[str, str]:
    """(base URL, AWS region) of a region's endpoint, the sandbox's with `sandbox`."""
    host, aws_region = REGIONS[region]
    if sandbox:
        first, _, rest = host.partition(".")
        host = f"{first}-gamma.{rest}"
    return f"https://{host}", aws_region


def read_keys(key_file: str | None, credential: str | None) -> tuple[str, str]:
    """(access key id, secret key) from a file or a systemd credential ($CREDENTIALS_DIRECTORY/NAME)."""
    if bool(key_file) == bool(credential):
        raise Misconfigured("give one of --key-file PATH or --key-credential NAME")
    if credential:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise Misconfigured("--key-credential needs $CREDENTIALS_DIRECTORY (systemd's LoadCredential=)")
        path, option = Path(directory) / credential, "--key-credential"
    else:
        path, option = Path(str(key_file)), "--key-file"
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as e:
        raise Misconfigured(f"{option}: cannot read {path} ({getattr(e, 'strerror', None) or 'not UTF-8'})") from None
    if len(lines) < 2:
        raise Misconfigured(f"{option}: {path} needs the access key id on its first line, the secret key on its second")
    return lines[0], lines[1]


def signed_request(base: str, aws_region: str, partner_id: str, keys: tuple[str, str]) -> urllib.request.Request:
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        raise Misconfigured("botocore is not installed: pip install 'escalation-agent[agcod]'") from None
    body = json.dumps({"partnerId": partner_id}).encode()
    request = AWSRequest(
        method="POST",
        url=f"{base.rstrip('/')}/GetAvailableFunds",
        data=body,
        headers={"accept": "application/json", "content-type": "application/json", "x-amz-target": TARGET},
    )
    SigV4Auth(Credentials(*keys), SERVICE, aws_region).add_auth(request)
    return urllib.request.Request(request.url, data=body, method="POST", headers=dict(request.headers.items()))


def ask(request: urllib.request.Request, timeout: float) -> tuple[int, str]:
    """(exit status, evidence line) of one call."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return _read(answer.status, answer.headers, answer.read(65536))
    except urllib.error.HTTPError as e:
        return _read(e.code, e.headers, e.read(65536) if e.fp else b"")
    except (OSError, ValueError) as e:  # refused, reset, a timeout, a TLS failure
        reason = getattr(e, "reason", None) or e
        return FAILS, f"no answer from {urllib.parse.urlsplit(request.full_url).hostname}: {reason}"


def _read(status: int, headers, data: bytes) -> tuple[int, str]:
    request_id = headers.get("x-amzn-RequestId") if headers else None
    tail = f" requestId={request_id}" if request_id else ""
    try:
        answer = json.loads(data or b"{}")
    except ValueError:
        answer = {}
    answer = answer if isinstance(answer, dict) else {}
    nested = answer.get("agcodResponse")
    inner: dict = nested if isinstance(nested, dict) else {}
    code = answer.get("errorCode") or inner.get("errorCode")
    if status == 200 and not code and isinstance(answer.get("availableFunds"), dict):
        return OK, f"200 {answer.get('status') or 'SUCCESS'}{tail}"
    if code:
        kind = answer.get("errorType") or inner.get("errorType") or answer.get("message") or ""
        return FAILS, f"{code} {kind}".strip() + tail
    return FAILS, f"HTTP {status} without an AGCOD answer{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agent.adapters.agcod", description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", choices=sorted(REGIONS), required=True, help="NA, EU or FE")
    parser.add_argument("--sandbox", action="store_true", help="the region's sandbox (-gamma) endpoint")
    parser.add_argument("--partner-id", required=True)
    parser.add_argument("--key-file", help="access key id on line 1, secret key on line 2")
    parser.add_argument("--key-credential", help="the same, as a systemd credential's name")
    parser.add_argument("--endpoint", help="a base URL instead of the region's (a test server)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds (default: 6)")
    args = parser.parse_args(argv)
    base, aws_region = endpoint(args.region, args.sandbox)
    try:
        request = signed_request(
            args.endpoint or base, aws_region, args.partner_id, read_keys(args.key_file, args.key_credential)
        )
    except Misconfigured as e:
        print(f"probe misconfigured: {e}")
        return MISCONFIGURED
    status, line = ask(request, args.timeout)
    print(line)
    return status


if __name__ == "__main__":
    sys.exit(main())
