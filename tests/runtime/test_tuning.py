"""`visionrt tune` and the `auto` that uses it: interleaved timing, records that apply only to the machine,
libraries and file they were measured on, and reasons that say where a choice came from."""

from dataclasses import replace

import pytest

from visionrt import model_zoo, runtime
from visionrt.runtime import tuning


@pytest.fixture(autouse=True)
def records(tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONRT_TUNE_FILE", str(tmp_path / "tuned.json"))
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "tuned.json"


def cpu_targets() -> set[str]:
    return {t.name for t in runtime.available_backends() if t.available and not t.on_gpu}


def test_every_round_times_each_candidate_once_in_turn_after_an_untimed_call():
    order = []
    samples = tuning.interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, seconds=0.0,
                                 min_rounds=4, block_ms=0.0)
    assert order == ["a", "a", "b", "b"] * 4 and [len(v) for v in samples.values()] == [4, 4]


def digits_fp32():
    return model_zoo.model_dir("digits") / "1" / "model.onnx"


def forged(winner: str, **key_changes) -> tuning.Record:
    key = {**tuning.record_key(digits_fp32()), **key_changes}
    return tuning.Record("digits", (1, 1, 8, 8), winner, {}, (tuning.Timing(winner, {}, 0.05, 0.1, 10),), key, "now")


def test_tune_records_the_winner_and_auto_then_uses_it_and_says_so(records):
    record = tuning.tune("digits", seconds=0.2)
    assert record.winner in cpu_targets() and {t.target for t in record.timings} == cpu_targets()
    assert {tuning.label(t.target, t.options) for t in record.timings} >= {"onnxruntime:cpu", "onnxruntime:cpu threads=1",
                                                                          "onnxruntime:cpu spin=True"}
    model = runtime.load("digits")
    assert model.describe()["backend"] == record.winner.split(":")[0]
    assert "measured fastest here by `visionrt tune`" in model.reasons[0]


def test_bf16_is_timed_through_its_gate_and_only_on_openvino():
    """The shipped digits carry a passed BF16 gate: tuning times OpenVINO at BF16 where the CPU computes it
    natively, and names the refusal elsewhere; ONNX Runtime is never asked for BF16."""
    if "openvino:cpu" not in cpu_targets():
        pytest.skip("BF16 is OpenVINO's: pip install 'visionrt[openvino]'")
    record = tuning.tune("digits", seconds=0.2)
    bf16 = [t for t in record.timings if t.options.get("precision") == "bf16"]
    refused = [name for name in record.refused if "precision=bf16" in name]
    assert bf16 or refused and all("native BF16" in record.refused[name] for name in refused)
    assert {t.target for t in bf16} <= {"openvino:cpu"} and all(name.startswith("openvino:cpu") for name in refused)


@pytest.mark.parametrize("changes", [{"onnx_sha256": "0" * 64}, {"cpu_identity": "another-cpu"},
                                     {"libraries": {"onnxruntime": "0.1"}}])
def test_a_record_from_another_file_cpu_or_library_does_not_apply(changes):
    tuning.store(forged("onnxruntime:cpu", **changes))
    assert tuning.applicable("digits", digits_fp32(), cpu_targets()) is None
    assert "not tuned here" in runtime.load("digits").reasons[0] or len(cpu_targets()) == 1


def test_auto_follows_an_applicable_record_and_an_explicit_backend_ignores_it():
    if "openvino:cpu" not in cpu_targets():
        pytest.skip("needs two CPU backends (pip install 'visionrt[openvino]')")
    tuning.store(forged("openvino:cpu"))
    assert runtime.load("digits").describe()["backend"] == "openvino"
    assert runtime.load("digits", backend="onnxruntime").describe()["backend"] == "onnxruntime"


def test_a_record_whose_winner_is_not_installed_falls_back_to_the_static_order():
    tuning.store(replace(forged("openvino:cpu"), winner="somebackend:cpu"))
    assert tuning.applicable("digits", digits_fp32(), cpu_targets()) is None
    assert runtime.load("digits").describe()["backend"] == "onnxruntime"


def test_the_winners_settings_travel_with_it_and_a_callers_own_setting_wins():
    tuning.store(replace(forged("onnxruntime:cpu"), options={"threads": 1, "spin": True}))
    described = runtime.load("digits").describe()
    assert described["intra_op_threads"] == 1 and described["threads_spin"] is True
    assert runtime.load("digits", threads=2, spin=False).describe()["threads_spin"] is False


def test_spin_is_refused_where_it_means_nothing():
    from visionrt.errors import UserInputError

    if "openvino:cpu" not in cpu_targets():
        pytest.skip("needs OpenVINO")
    with pytest.raises(UserInputError, match="spin=True is for ONNX Runtime's CPU provider"):
        runtime.load("digits", backend="openvino", spin=True)
