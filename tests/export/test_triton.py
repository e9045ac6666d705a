"""Every zoo folder is a Triton model: its config.pbtxt parses as Triton's own ModelConfig, declares what the
ONNX file holds, and gives the TensorRT accelerator the artifact's shape range.

No Triton server runs here; the schema is the one tritonclient generates from Triton's model_config.proto,
and the accelerator keys are those Triton's ONNX Runtime backend documents.
"""

import pytest

from visionrt import model_zoo
from visionrt import artifact
from visionrt.export import triton
from visionrt.runtime.profiles import Profile, profile_from_metadata

onnx = pytest.importorskip("onnx")
MODELS = [name for name in model_zoo.names() if model_zoo.installed(name)]
# The TensorRT accelerator keys of Triton's ONNX Runtime backend (its README, "Parameter mapping" table).
ORT_BACKEND_TENSORRT_KEYS = {
    "precision_mode", "max_workspace_size_bytes", "trt_max_partition_iterations", "trt_min_subgraph_size",
    "int8_calibration_table_name", "int8_use_native_calibration_table", "trt_dla_enable", "trt_dla_core",
    "trt_engine_cache_enable", "trt_engine_cache_path", "trt_engine_cache_prefix", "trt_dump_subgraphs",
    "trt_force_sequential_engine_build", "trt_context_memory_sharing_enable", "trt_layer_norm_fp32_fallback",
    "trt_timing_cache_enable", "trt_timing_cache_path", "trt_force_timing_cache", "trt_detailed_build_log",
    "trt_build_heuristics_enable", "trt_sparsity_enable", "trt_builder_optimization_level",
    "trt_auxiliary_streams", "trt_tactic_sources", "trt_extra_plugin_lib_paths", "trt_profile_min_shapes",
    "trt_profile_max_shapes", "trt_profile_opt_shapes", "trt_cuda_graph_enable", "trt_dump_ep_context_model",
    "trt_ep_context_file_path", "trt_ep_context_embed_mode"}


def parsed_config(name: str):
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2",
                                           reason="tritonclient[grpc] (visionrt[dev]) holds Triton's schema")
    from google.protobuf import text_format

    text = (model_zoo.model_dir(name) / "config.pbtxt").read_text()
    return text_format.Parse(text, model_config_pb2.ModelConfig())  # raises on any field Triton lacks


def shipped(name: str):
    proto = onnx.load(str(model_zoo.model_dir(name) / "1" / "model.onnx"))
    return proto, artifact.from_proto(proto, name)


@pytest.mark.parametrize("name", MODELS)
def test_the_config_declares_the_onnx_files_inputs_and_outputs_without_the_batch_axis(name):
    config, (proto, meta) = parsed_config(name), shipped(name)
    from tritonclient.grpc.model_config_pb2 import DataType

    assert (config.name, config.platform, config.max_batch_size) == (name, "onnxruntime_onnx", meta.max_batch_size)
    for declared, graph in ((config.input, proto.graph.input), (config.output, proto.graph.output)):
        in_onnx = [(value.name, value.type.tensor_type.elem_type,
                    [d.dim_value if d.HasField("dim_value") else -1 for d in value.type.tensor_type.shape.dim][1:])
                   for value in graph]
        assert [(t.name, DataType.Name(t.data_type), list(t.dims)) for t in declared] == \
            [(n, {onnx.TensorProto.FLOAT: "TYPE_FP32"}[elem], dims) for n, elem, dims in in_onnx]


@pytest.mark.parametrize("name", MODELS)
def test_the_tensorrt_accelerator_gets_fp16_and_the_artifacts_shape_range_under_documented_keys(name):
    config, (_, meta) = parsed_config(name), shipped(name)
    (accelerator,) = config.optimization.execution_accelerators.gpu_execution_accelerator
    parameters = dict(accelerator.parameters)
    assert accelerator.name == "tensorrt" and set(parameters) <= ORT_BACKEND_TENSORRT_KEYS
    profile = profile_from_metadata(meta)
    assert parameters["precision_mode"] == "FP16"
    assert parameters["trt_profile_max_shapes"] == f"{profile.input_name}:{'x'.join(map(str, profile.max))}"
    assert parameters["trt_profile_min_shapes"].startswith(f"{config.input[0].name}:1x")


@pytest.mark.parametrize("name", MODELS)
def test_dynamic_batching_prefers_the_profiles_opt_and_max_batch_and_bounds_the_queue_delay(name):
    config, (_, meta) = parsed_config(name), shipped(name)
    profile = profile_from_metadata(meta)
    assert config.HasField("dynamic_batching")
    sizes = list(config.dynamic_batching.preferred_batch_size)
    assert sizes == sorted({profile.opt[0], profile.max[0]})
    assert all(1 <= size <= config.max_batch_size for size in sizes)
    assert config.dynamic_batching.max_queue_delay_microseconds == triton.MAX_QUEUE_DELAY_US == 100


def test_the_digits_config_prefers_batches_of_8_and_64():
    if "digits" not in MODELS:
        pytest.skip("the digits artifact is not installed")
    batching = parsed_config("digits").dynamic_batching
    assert (list(batching.preferred_batch_size), batching.max_queue_delay_microseconds) == ([8, 64], 100)


def test_preferred_sizes_are_deduplicated_and_fall_back_to_max_batch_size_without_a_profile():
    small = Profile("image", (1, 3, 16, 16), (8, 3, 16, 16), (8, 3, 16, 16))  # max_batch_size 8: opt == max
    assert triton.preferred_batch_sizes(8, small) == [8]
    assert triton.preferred_batch_sizes(32, None) == [32]
    assert triton.dynamic_batching(32, None) == \
        "dynamic_batching {\n  preferred_batch_size: [ 32 ]\n  max_queue_delay_microseconds: 100\n}\n"


@pytest.mark.parametrize("name", MODELS)
def test_the_shipped_config_is_what_the_exporter_writes(name):
    proto, meta = shipped(name)
    expected = triton.config_pbtxt(name, proto.graph, meta.max_batch_size, profile_from_metadata(meta))
    assert (model_zoo.model_dir(name) / "config.pbtxt").read_text() == expected


def test_a_field_triton_does_not_know_fails_the_schema():
    model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
    from google.protobuf import text_format

    with pytest.raises(text_format.ParseError, match="no field named \"max_batch\""):
        text_format.Parse('name: "digits"\nmax_batch: 64\n', model_config_pb2.ModelConfig())
