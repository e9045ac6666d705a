"""The OpenVINO backend: the zoo's ONNX files on OpenVINO's CPU plugin, at the precision asked and read back,
one infer request per thread, compiled models cached across processes."""

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from visionrt import runtime
from visionrt.errors import BackendUnavailableError, UserInputError

openvino = pytest.importorskip("openvino", reason="OpenVINO is an extra: pip install 'visionrt[openvino]'")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VISIONRT_ENGINE_CACHE", str(tmp_path / "cache"))


def bf16_cpu() -> bool:
    return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


@pytest.mark.parametrize("name, shape", [("digits", (3, 1, 8, 8)), ("style", (1, 3, 32, 48)),
                                         ("digit_reader", (2, 1, 16, 40)), ("vae_decoder", (4, 8))])
def test_outputs_match_onnx_runtime_on_the_same_file(name, shape):
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    on_ov, on_ort = runtime.load(name, backend="openvino"), runtime.load(name, backend="onnxruntime:cpu")
    assert on_ov.describe()["backend"] == "openvino"
    np.testing.assert_allclose(on_ov.run(x), on_ort.run(x), atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_every_zoo_file_loads_with_the_graphs_own_tensor_names(precision):
    from visionrt import model_zoo

    for name in (n for n in model_zoo.names() if model_zoo.installed(n)):
        on_ov = runtime.load(name, backend="openvino", precision=precision)
        on_ort = runtime.load(name, backend="onnxruntime:cpu", precision=precision)
        assert [s.name for s in on_ov.outputs] == [s.name for s in on_ort.outputs], name
        assert [s.name for s in on_ov.inputs] == [s.name for s in on_ort.inputs], name


def test_fp32_is_forced_and_read_back_from_the_compiled_model_on_any_cpu():
    """OpenVINO's default on a BF16 CPU is BF16: an FP32 load must execute FP32 there too, node by node."""
    described = runtime.load("style", backend="openvino", precision="fp32").describe()
    executed = described["precision_executed"]
    assert executed["hint"] == "f32" and set(executed["nodes"]) & {"f32", "bf16", "f16"} == {"f32"}
    assert described["precision_requested"] == "f32"


def test_bf16_runs_only_where_the_cpu_computes_it_natively():
    if bf16_cpu():
        model = runtime.load("style", backend="openvino", precision="bf16")
        assert model.precision == "bf16" and model.describe()["precision_executed"]["hint"] == "bf16"
    else:
        with pytest.raises(BackendUnavailableError, match="precision bf16 needs a CPU with native BF16"):
            runtime.load("style", backend="openvino", precision="bf16")


def test_bf16_is_refused_on_a_backend_that_cannot_compute_it():
    with pytest.raises(UserInputError, match="precision bf16 is computed by OpenVINO's CPU plugin .* backend='openvino'"):
        runtime.load("style", backend="onnxruntime:cpu", precision="bf16")


def test_a_shape_outside_the_artifacts_range_is_refused_before_openvino():
    model = runtime.load("style", backend="openvino")
    with pytest.raises(UserInputError, match=r"axis 3 is 2048, outside the artifact's range \[16, 1024\]"):
        model.run(np.zeros((1, 3, 64, 2048), np.float32))


def test_sixteen_threads_on_one_model_get_the_serial_results():
    model = runtime.load("digits", backend="openvino")
    batches = [np.random.default_rng(seed).random((4, 1, 8, 8), dtype=np.float32) for seed in range(32)]
    serial = [model.run(batch) for batch in batches]
    with ThreadPoolExecutor(16) as pool:
        concurrent = list(pool.map(model.run, batches))
    assert all(np.array_equal(a, b) for a, b in zip(serial, concurrent))


def test_a_second_process_loads_the_compiled_model_from_the_cache(tmp_path):
    script = textwrap.dedent("""
        from visionrt import runtime
        print(runtime.load("style", backend="openvino").describe()["loaded_from_cache"])
    """)
    env = {**__import__("os").environ, "VISIONRT_ENGINE_CACHE": str(tmp_path / "shared")}
    seen = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
            for _ in range(2)]
    assert [done.stdout.strip() for done in seen] == ["False", "True"], [done.stderr[-500:] for done in seen]
