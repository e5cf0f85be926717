"""Kill `escalation-agent run` with SIGKILL at random moments through whole incidents, then count.

    python tests/chaos.py --seeds 1 2 3 4 --kills 25     # the long run (docs/reliability.md)

The SMTP server accepts and then stalls before answering 250, which widens the window between the
server taking a mail and the agent recording it. Ground truth is the watched mailbox: every
escalation the server took left its CC copy there, whether or not the agent lived to hear the 250.
"""

import argparse
import email
import email.policy
import json
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from support import AGENT, LOCAL, USERS, AgentProcess, query, send, t1, write_config  # noqa: E402
from tools.localmail import Dovecot, SmtpRelay  # noqa: E402


def escalations_in_mailbox(dovecot: Dovecot) -> Counter:
    """(T1 Message-ID, tier) -> copies the SMTP server delivered, read from the watched mailbox."""
    copies = Counter()
    for raw in dovecot.messages("watch").values():
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if AGENT not in str(msg["From"]) or not str(msg["Subject"]).startswith("[T"):
            continue
        tier = int(str(msg["Subject"])[2])
        t1_id = str(msg["References"]).split()[0] if tier == 2 else str(msg["References"]).split()[-2]
        copies[(t1_id, tier)] += 1
    return copies


def run(seed: int, kills: int, incidents: int = 3, workdir: Path | None = None) -> dict:
    rng = random.Random(seed)
    workdir = Path(workdir or tempfile.mkdtemp(prefix="ea-chaos-"))
    stats = Counter()
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL, stall_after_accept=0.4) as relay:
        config = write_config(
            workdir,
            dovecot,
            relay,
            escalation_t2_after="2s",
            escalation_t3_after="2s",
            agent_resend_after="3s",
            agent_log_level="warning",
        )
        db = workdir / "state.db"
        sent = []
        for _ in range(kills):
            if len(sent) < incidents and rng.random() < 0.4:
                msg = t1(subject=f"chaos seed {seed} incident {len(sent) + 1}")
                send(relay, msg)
                sent.append(msg["Message-ID"])
            agent = AgentProcess(config).start()
            time.sleep(rng.uniform(0.2, 1.6))
            agent.proc.send_signal(signal.SIGKILL)
            agent.proc.wait()
            stats["kills"] += 1
            if query(db, "SELECT 1 FROM escalations WHERE status = 'sending'"):
                stats["kills_with_a_send_in_flight"] += 1
        for msg_id in range(len(sent), incidents):
            msg = t1(subject=f"chaos seed {seed} incident {msg_id + 1}")
            send(relay, msg)
            sent.append(msg["Message-ID"])
        with AgentProcess(config) as agent:  # a clean finish: everything due must now go out
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                copies = escalations_in_mailbox(dovecot)
                if all(copies[(m, tier)] for m in sent for tier in (2, 3)):
                    break
                time.sleep(0.5)
            time.sleep(3)  # room for a late duplicate
        copies = escalations_in_mailbox(dovecot)
        expected = [(m, tier) for m in sent for tier in (2, 3)]
        stats["incidents"] = len(sent)
        stats["escalations"] = len(expected)
        stats["missed"] = sum(1 for key in expected if copies[key] == 0)
        stats["duplicated"] = sum(n - 1 for n in copies.values() if n > 1)
        stats["reconciled"] = query(db, "SELECT count(*) FROM events WHERE kind = 'reconciled'")[0][0]
        stats["resent_after_crash"] = query(db, "SELECT count(*) FROM escalations WHERE attempts > 1")[0][0]
    return dict(seed=seed, **stats)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--kills", type=int, default=25, help="SIGKILLs per seed")
    args = parser.parse_args()
    total = Counter()
    for seed in args.seeds:
        result = run(seed, args.kills)
        print(json.dumps(result), flush=True)
        total.update({k: v for k, v in result.items() if k != "seed"})
    print(json.dumps(dict(total=True, seeds=len(args.seeds), **total)))
    return 0 if total["missed"] == 0 and total["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
