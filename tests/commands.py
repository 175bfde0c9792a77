"""Running the ``liaison`` command in tests, as an administrator would, and reading its refusals."""

from __future__ import annotations

from collections.abc import Callable

from click.testing import CliRunner, Result

from liaison.cli import main

Run = Callable[..., Result]
ENGLISH = ("Usage:", "Show this message", "Error:", "Missing option", "Invalid value", "is not one of", "[required]")


def runner_on(env: dict[str, str | None]) -> Run:
    def invoke(*args: str, env_changes: dict[str, str | None] | None = None, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            main,
            list(args),
            prog_name="liaison",
            env={**env, **(env_changes or {})},
            input=input,
            catch_exceptions=True,
        )

    return invoke


def assert_refused(result: Result, *words: str) -> str:
    """A refusal: non-zero exit, a French sentence, no traceback."""
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    output = result.output
    assert "Traceback" not in output
    for word in words:
        assert word in output, output
    assert not [english for english in ENGLISH if english in output], output
    return output
