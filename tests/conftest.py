import pytest

from support import LOCAL, USERS
from tools import localetcd, localmail
from tools.localmail import Dovecot, SmtpRelay

TIERS = ("unit", "integration", "e2e")
SERVER_FIXTURES = {"servers", "dovecot", "relay", "make_relay", "audit_db", "etcd"}  # audit_db: a real agent wrote it


def pytest_collection_modifyitems(items):
    """Every test gets one tier: its own mark, else e2e by module, integration when it asks for a server,
    else unit. A unit test that starts a server anyway fails (see `no_servers_in_unit_tests`)."""
    for item in items:
        if any(item.get_closest_marker(t) for t in TIERS):
            continue
        if SERVER_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def no_servers_in_unit_tests(request, monkeypatch):
    if request.node.get_closest_marker("unit") is None:
        return

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"a unit test started {type(self).__name__}: mark it integration or e2e")

    monkeypatch.setattr(localmail.Dovecot, "start", refuse)
    monkeypatch.setattr(localmail.SmtpRelay, "start", refuse)
    monkeypatch.setattr(localetcd.Etcd, "start", refuse)


@pytest.fixture
def servers():
    """A fresh real Dovecot and an aiosmtpd relay that delivers local CCs into it; both stopped after."""
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
        yield dovecot, relay


@pytest.fixture
def etcd():
    """A fresh real etcd (Debian's etcd-server) on 127.0.0.1 with its own data directory; stopped by its pid after."""
    with localetcd.Etcd() as server:
        yield server
