"""The op-type profile: ONNX Runtime's node profiler, summed by op type, shares that add up."""

from visionrt.benchmarks import op_profile


def test_a_models_kernel_time_is_split_by_op_type():
    found = op_profile.profile("digits", calls=2)
    assert found["kernel_ms_per_call"] > 0 and abs(sum(o["share"] for o in found["by_op"]) - 1.0) < 0.01
    assert found["by_op"][0]["share"] >= found["by_op"][-1]["share"] and 0 < found["arithmetic_share"] <= 1
    assert "| digits | 1x1x8x8 |" in op_profile.markdown([found], {"onnxruntime": "x", "cpu": "y"})
