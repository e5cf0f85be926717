"""What fitting the original T1 within attach_limit costs (issue 21.3): the time to compose an escalation's first
form and its smaller form (agent.core.writing.escalation.escalation_forms), for T1s from 2 MB to 25 MB, as Gmail writes
a mail
with one attachment. Pure code, no servers. Prints one line per T1 and a JSON line.

    .venv/bin/python bench/attach.py
"""

import base64
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.core.sop import Tier  # noqa: E402
from agent.core.writing.compose import Original, Step, wire_size
from agent.core.writing.escalation import escalation_forms

T0 = datetime(2026, 11, 25, 11, 15, tzinfo=UTC)
LIMIT = 10_000_000


def t1(attachment: int) -> bytes:
    data = base64.encodebytes(bytes(range(256)) * (attachment // 256 + 1))[: attachment * 4 // 3]
    return (
        b"From: Bob <bob@partner.test>\r\nTo: urgent@vendor.test\r\nSubject: F500\r\nMessage-ID: <b@partner.test>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="000000000000a1b2"\r\n\r\n'
        b'--000000000000a1b2\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\nPartner ID: Acmes\r\n\r\n'
        b'--000000000000a1b2\r\nContent-Type: application/zip; name="logs.zip"\r\n'
        b'Content-Disposition: attachment; filename="logs.zip"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + data.replace(b"\n", b"\r\n")
        + b"\r\n--000000000000a1b2--\r\n"
    )


def main() -> None:
    figures = {}
    for mb in (2, 7, 12, 18):
        raw = t1(mb * 1_000_000)
        o = Original("<b@partner.test>", "F500", "bob@partner.test", ("urgent@vendor.test",), (), T0, "F500", raw)
        started = time.perf_counter()
        first, smaller = escalation_forms(
            o, Tier.T2, (Step(Tier.T1, "urgent@vendor.test", T0, o.message_id),), timedelta(minutes=30),
            to="t2@vendor.test", cc=("bob@partner.test",), from_address="agent@partner.test",
            message_id="<esc@partner.test>", now=T0 + timedelta(minutes=30), attach_limit=LIMIT, smaller=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        sizes = (wire_size(first), wire_size(smaller) if smaller is not None else 0)
        print(f"T1 {len(raw) / 1e6:5.1f} MB: both forms in {seconds:.2f} s; T2 {sizes[0] / 1e6:.2f} MB, smaller form "
              f"{sizes[1] / 1e6:.2f} MB (attach_limit {LIMIT / 1e6:.0f} MB)")  # fmt: skip
        figures[f"t1_{mb}mb_attachment_s"] = round(seconds, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
