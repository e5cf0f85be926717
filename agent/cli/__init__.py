"""The command line: `escalation-agent` and `python -m agent`."""

from agent.cli.commands import cli, main

__all__ = ["cli", "main"]
