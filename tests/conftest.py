import pytest

from support import LOCAL, USERS
from tools.localmail import Dovecot, SmtpRelay


@pytest.fixture
def servers():
    """A fresh real Dovecot and an aiosmtpd relay that delivers local CCs into it; both stopped after."""
    with Dovecot(USERS) as dovecot, SmtpRelay(dovecot, LOCAL) as relay:
        yield dovecot, relay
