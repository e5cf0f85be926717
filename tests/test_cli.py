import click
from click.testing import CliRunner

from agent.cli import cli


def test_every_command_has_help_text():
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), f"command {name} has no help text"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.help, f"option {param.name} of {name} has no help text"


def test_a_missing_config_is_one_sentence_and_exit_1(tmp_path):
    result = CliRunner().invoke(cli, ["-c", str(tmp_path / "none.ini"), "status"])
    assert result.exit_code == 1
    assert (
        result.output.strip() == f"Error: config file {tmp_path / 'none.ini'} does not exist "
        "(use -c PATH or $ESCALATION_AGENT_CONFIG)"
    )


def test_the_config_comes_from_the_environment_when_not_given(tmp_path, monkeypatch):
    monkeypatch.setenv("ESCALATION_AGENT_CONFIG", str(tmp_path / "env.ini"))
    result = CliRunner().invoke(cli, ["status"])
    assert "env.ini does not exist" in result.output
