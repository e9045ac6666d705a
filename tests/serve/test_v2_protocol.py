"""The KServe v2 core and Triton's extensions, spoken to only through Triton's own clients
(tritonclient.http and tritonclient.grpc): every zoo model described, configured and answering exactly as
``runtime.load(...).run(...)`` does, in binary and in JSON."""

import numpy as np
import pytest

import tritonclient.grpc as tritonclient_grpc
import tritonclient.http as tritonclient_http

from serving import MODELS, example, outputs_of


def http_inputs(x, binary=True):
    tensor = tritonclient_http.InferInput("image", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    return tensor


def named_input(model, x, module):
    tensor = module.InferInput(model.inputs[0].name, list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    return tensor


def test_the_server_is_live_ready_and_describes_itself(http, grpc):
    assert http.is_server_live() and http.is_server_ready()
    assert grpc.is_server_live() and grpc.is_server_ready()
    meta = http.get_server_metadata()
    assert {"binary_tensor_data", "model_configuration", "statistics"} <= set(meta["extensions"])
    assert grpc.get_server_metadata().name == meta["name"]


def test_the_repository_index_lists_every_zoo_model_ready(http, grpc):
    assert {(m["name"], m["state"]) for m in http.get_model_repository_index()} >= {(n, "READY") for n in MODELS}
    assert {m.name for m in grpc.get_model_repository_index().models} >= set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_is_ready_and_its_metadata_and_config_match_the_artifact(name, http, grpc, local_models):
    model = local_models[name]
    assert http.is_model_ready(name) and grpc.is_model_ready(name)
    meta = http.get_model_metadata(name)
    want = [(s.name, "FP32", [-1 if d is None else d for d in s.shape]) for s in model.inputs]
    assert [(t["name"], t["datatype"], t["shape"]) for t in meta["inputs"]] == want
    assert [t["name"] for t in meta["outputs"]] == [s.name for s in model.outputs]
    grpc_meta = grpc.get_model_metadata(name)
    assert [(t.name, t.datatype, list(t.shape)) for t in grpc_meta.inputs] == want
    config = http.get_model_config(name)
    assert config["max_batch_size"] == model.metadata.max_batch_size
    assert config["input"][0]["dims"] == list(model.profile.opt[1:]) or -1 in config["input"][0]["dims"]
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 100
    assert grpc.get_model_config(name).config.max_batch_size == config["max_batch_size"]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_answers_as_the_runtime_does_over_http_binary_json_and_grpc(name, http, grpc, local_models):
    model = local_models[name]
    x = example(model, batch=2, seed=len(name))
    want = outputs_of(model, x)
    binary = http.infer(name, [named_input(model, x, tritonclient_http)])
    asked = [tritonclient_http.InferRequestedOutput(o, binary_data=False) for o in want]
    as_json = http.infer(name, [named_input(model, x, tritonclient_http)], outputs=asked)
    over_grpc = grpc.infer(name, [named_input(model, x, tritonclient_grpc)])
    for output, expected in want.items():
        for result in (binary, as_json, over_grpc):
            got = result.as_numpy(output)
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)


def test_json_inputs_reach_the_model_unchanged(http, local_models):
    x = example(local_models["digits"], batch=3, seed=5)
    result = http.infer("digits", [http_inputs(x, binary=False)])
    np.testing.assert_array_equal(result.as_numpy("logits"), local_models["digits"].run(x))


def test_asking_for_one_output_returns_only_that_one(http, grpc, local_models):
    model = local_models["vae_encoder"]
    x = example(model, batch=1)
    result = http.infer("vae_encoder", [named_input(model, x, tritonclient_http)],
                        outputs=[tritonclient_http.InferRequestedOutput("mu")])
    assert [o["name"] for o in result.get_response()["outputs"]] == ["mu"]
    result = grpc.infer("vae_encoder", [named_input(model, x, tritonclient_grpc)],
                        outputs=[tritonclient_grpc.InferRequestedOutput("logvar")])
    assert [o.name for o in result.get_response().outputs] == ["logvar"]
    np.testing.assert_array_equal(result.as_numpy("logvar"), model.run(x)["logvar"])


def test_statistics_count_the_requests_and_items_on_both_protocols(http, grpc, local_models):
    before = http.get_inference_statistics("digits")["model_stats"][0]
    x = example(local_models["digits"], batch=5, seed=9)
    http.infer("digits", [http_inputs(x)])
    after = http.get_inference_statistics("digits")["model_stats"][0]
    assert after["inference_count"] - before["inference_count"] == 5
    assert after["inference_stats"]["success"]["count"] - before["inference_stats"]["success"]["count"] == 1
    assert grpc.get_inference_statistics("digits").model_stats[0].inference_count == after["inference_count"]
    assert any(entry["batch_size"] == 5 for entry in after["batch_stats"])
    counts = {after["inference_stats"][key]["count"] for key in ("compute_input", "compute_infer", "compute_output")}
    assert len(counts) == 1  # perf_analyzer stops unless the three agree


@pytest.mark.parametrize("module", [tritonclient_http, tritonclient_grpc], ids=["http", "grpc"])
def test_the_classification_extension_returns_the_top_classes_as_score_index_label(module, http, grpc, local_models,
                                                                                  own_words):
    model = local_models["digits"]
    x = example(model, batch=2, seed=11)
    client = http if module is tritonclient_http else grpc
    asked = [module.InferRequestedOutput("logits", class_count=3)]
    got = client.infer("digits", [named_input(model, x, module)], outputs=asked).as_numpy("logits")
    logits = model.run(x)
    assert got.shape == (2, 3)
    for row, scores in zip(got, logits):
        best = [int(item.decode().split(":")[1]) for item in row]
        assert best == list(np.argsort(-scores, kind="stable")[:3])
        score, index, *label = row[0].decode().split(":")  # the label where the server knows the classes' names
        assert float(score) == pytest.approx(scores.max(), abs=1e-6)
        assert label == [model.metadata.labels[int(index)]] or not own_words


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_requests_are_inflated(algorithm, http, local_models):
    x = example(local_models["digits"], batch=3, seed=2)
    tensor = named_input(local_models["digits"], x, tritonclient_http)
    result = http.infer("digits", [tensor], request_compression_algorithm=algorithm)
    np.testing.assert_array_equal(result.as_numpy("logits"), local_models["digits"].run(x))


def test_a_model_this_server_lacks_is_not_ready_rather_than_an_error(http, grpc):
    assert not http.is_model_ready("digitz") and not grpc.is_model_ready("digitz")
    assert not grpc.is_model_ready("digits", model_version="7")


def test_the_served_config_states_the_backend_versions_and_instances(http, grpc, own_words):
    config = http.get_model_config("digits")
    assert config["backend"] == "onnxruntime" or (config["backend"] and not own_words)
    assert config["version_policy"] == {"latest": {"num_versions": 1}}
    assert config["instance_group"][0]["kind"] == "KIND_CPU" and config["instance_group"][0]["count"] >= 1
    assert grpc.get_model_config("digits").config.instance_group[0].count == config["instance_group"][0]["count"]


def test_a_request_refused_by_its_checks_is_not_counted_as_the_models_failure(http):
    def fails():
        return http.get_inference_statistics("digits")["model_stats"][0]["inference_stats"]["fail"]["count"]

    before = fails()
    tensor = tritonclient_http.InferInput("image", [1, 1, 8, 9], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 1, 8, 9), np.float32))
    with pytest.raises(Exception, match="8"):
        http.infer("digits", [tensor])
    assert fails() == before
