"""`visionrt serve`'s arguments: bad values and unknown models refused in one line, before anything listens."""

import pytest

from visionrt import cli


@pytest.mark.parametrize("arguments, words", [
    (["--instances", "0"], "--instances must be at least 1, got 0"),
    (["--request-timeout", "0"], "--request-timeout must be positive"),
    (["--model", "digitz", "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0"], "has no model 'digitz'"),
])
def test_bad_serve_arguments_exit_2_naming_the_problem(arguments, words, capsys):
    assert cli.main(["serve", *arguments]) == 2
    assert words in capsys.readouterr().err
