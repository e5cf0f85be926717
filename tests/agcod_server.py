"""A stand-in for the AGCOD API on 127.0.0.1, for the probe's tests: it checks each request's AWS Signature Version 4
with botocore (the library the probe signs with), then answers GetAvailableFunds as the API does — success with
availableFunds, `F500` GeneralError, an F300 InsufficientFunds, a signature mismatch (F200), or no answer at all."""

import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLEPROBE0001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REQUEST_ID = "9f3c2a1e-5b7d-4c1a-8e2f-0a1b2c3d4e5f"


def signature_holds(method: str, url: str, headers: dict[str, str], body: bytes, region: str) -> bool:
    """Recompute the request's signature from the headers it signed, at its own X-Amz-Date."""
    auth_header = headers.get("authorization", "")
    fields = dict(part.strip().split("=", 1) for part in auth_header.removeprefix("AWS4-HMAC-SHA256 ").split(","))
    if not fields.get("Credential", "").startswith(f"{ACCESS_KEY}/") or f"/{region}/AGCODService/" not in fields.get(
        "Credential", ""
    ):
        return False
    signed = fields.get("SignedHeaders", "").split(";")
    request = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed if h in headers})
    request.context["timestamp"] = headers.get("x-amz-date", "")
    auth = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "AGCODService", region)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
    return hmac.compare_digest(expected, fields.get("Signature", ""))


class Agcod:
    """`mode`: ok, f500, f300, hang. `calls`: how many requests came (with a good signature, `good`)."""

    def __init__(self, region: str = "us-east-1", mode: str = "ok"):
        self.region, self.mode, self.calls, self.good = region, mode, 0, 0
        self.release = threading.Event()  # a hanging answer waits for this (set at stop)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, name="agcod-test", daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                api.calls += 1
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                url = f"http://{headers.get('host')}{self.path}"
                if self.path != "/GetAvailableFunds" or headers.get("x-amz-target", "").rsplit(".", 1)[-1] != (
                    "GetAvailableFunds"
                ):
                    return self._answer(400, {"errorCode": "F200", "errorType": "InvalidRequestInput"})
                if not signature_holds("POST", url, headers, body, api.region):
                    return self._answer(403, {"errorCode": "F200", "errorType": "InvalidSignature"})
                api.good += 1
                if json.loads(body or b"{}").get("partnerId") != "Acmes":
                    return self._answer(400, {"errorCode": "F200", "errorType": "InvalidPartnerIdInput"})
                if api.mode == "hang":
                    api.release.wait(30)
                    return None
                if api.mode == "f500":
                    return self._answer(500, {"errorCode": "F500", "errorType": "GeneralError", "message": "x"})
                if api.mode == "f300":
                    message = "Insufficient Funds"
                    return self._answer(
                        400, {"errorCode": "F300", "errorType": "InsufficientFunds", "message": message}
                    )
                funds = {"amount": 12500.0, "currencyCode": "USD"}
                return self._answer(
                    200, {"availableFunds": funds, "status": "SUCCESS", "timestamp": "20261206T061500Z"}
                )

            def _answer(self, code: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("x-amzn-RequestId", REQUEST_ID)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        return Handler
