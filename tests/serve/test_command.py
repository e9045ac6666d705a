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


def test_backend_and_precision_are_set_for_all_models_or_one():
    from visionrt.serve_command import split_settings

    assert split_settings(["openvino", "style=onnxruntime"], "--backend") == ("openvino", {"style": "onnxruntime"})
    assert split_settings(None, "--precision") == ("auto", {})
    with pytest.raises(Exception, match="'fp64' is not one of"):
        split_settings(["digits=fp64"], "--precision", ("auto", "fp32"))


def test_a_per_model_setting_for_a_model_not_served_is_refused_by_name(capsys):
    code = cli.main(["serve", "--model", "digits", "--precision", "stlye=fp32", "--http-port", "0", "--grpc-port", "0",
                     "--metrics-port", "0"])
    assert code == 2 and "'stlye', which this server does not serve" in capsys.readouterr().err


def test_a_per_model_precision_reaches_that_model_alone():
    from serving import free_options
    from visionrt.serve import ModelChoice, Server

    choice = ModelChoice(precisions={"style": "fp16"})
    serving = Server(free_options(models=("digits", "style"), choice=choice), progress=lambda line: None)
    with serving.running():
        assert serving.models["style"].model.precision == "fp16"
        assert serving.models["digits"].model.precision == "fp32"
