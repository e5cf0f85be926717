"""What every command shares: the config and the database as the command may open them, errors as one sentence."""

import functools

import click

from agent.adapters import config as config_mod
from agent.adapters.store import Store
from agent.core.errors import AgentError


def errors_as_sentences(fn):
    """An AgentError as one sentence and exit 1 (click's own form for an error)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AgentError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


# Commands that only read: they read no password (auditors have none) and open the database read-only, so every
# member of the service's group can run them, and none can change the record.
READ_ONLY = frozenset({"status", "show", "export", "audit", "backup", "report"})


class Context:
    """What a command is given: the config's path, read when first asked (without secrets for a read-only command)."""

    def __init__(self, path, command: str | None = None):
        self.path = path
        self.read_only = command in READ_ONLY
        self._config: config_mod.Config | None = None

    @property
    def config(self) -> config_mod.Config:
        if self._config is None:
            self._config = config_mod.load(self.path, secrets=not self.read_only)
        return self._config

    def store(self) -> Store:
        return Store(self.config.agent.database, read_only=self.read_only)
