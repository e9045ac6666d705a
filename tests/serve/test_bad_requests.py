"""Every kind of bad request gets a 400 / INVALID_ARGUMENT (404 / NOT_FOUND for what does not exist) whose
message names the problem, and the server goes on answering good requests."""

import http.client
import json

import grpc as grpc_module
import numpy as np
import pytest
import tritonclient.grpc as tritonclient_grpc
import tritonclient.http as tritonclient_http
from tritonclient.grpc import service_pb2, service_pb2_grpc
from tritonclient.utils import InferenceServerException

GOOD = np.zeros((1, 1, 8, 8), np.float32)


def post(url: str, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    host, port = url.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else {}
    finally:
        connection.close()


def http_client_get(url: str, path: str) -> tuple[int, bytes]:
    host, port = url.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def infer_body(inputs: list[dict]) -> bytes:
    return json.dumps({"inputs": inputs}).encode()


def still_serving(http):
    tensor = tritonclient_http.InferInput("image", [1, 1, 8, 8], "FP32")
    tensor.set_data_from_numpy(GOOD)
    assert http.infer("digits", [tensor]).as_numpy("logits").shape == (1, 10)


ZEROS_64 = [0.0] * 64
HTTP_CASES = {  # name -> (body, headers, status, words the message must hold)
    "malformed JSON": (b'{"inputs": [', {}, 400, "not valid JSON"),
    "no inputs": (b'{"outputs": []}', {}, 400, "'inputs'"),
    "unknown tensor": (infer_body([{"name": "picture", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": ZEROS_64}]),
                       {}, 400, "no input 'picture'"),
    "wrong shape": (infer_body([{"name": "image", "shape": [1, 1, 8, 9], "datatype": "FP32", "data": [0.0] * 72}]),
                    {}, 400, "axis 3 is 9, must be 8"),
    "wrong dtype": (infer_body([{"name": "image", "shape": [1, 1, 8, 8], "datatype": "INT64", "data": [0] * 64}]),
                    {}, 400, "datatype INT64"),
    "unknown datatype": (infer_body([{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP33", "data": ZEROS_64}]),
                         {}, 400, "datatype FP33, model 'digits' takes FP32"),
    "data of the wrong length": (infer_body([{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                              "data": [0.0] * 63}]), {}, 400, "63 values"),
    "data not numbers": (infer_body([{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                      "data": ["x"] * 64}]), {}, 400, "does not hold FP32"),
    "NaN in the data": (b'{"inputs":[{"name":"image","shape":[1,1,8,8],"datatype":"FP32","data":[NaN'
                        + b",0" * 63 + b"]}]}", {}, 400, "NaN or Inf"),
    "empty batch": (infer_body([{"name": "image", "shape": [0, 1, 8, 8], "datatype": "FP32", "data": []}]),
                    {}, 400, "empty batch"),
    "batch over the maximum": (infer_body([{"name": "image", "shape": [65, 1, 8, 8], "datatype": "FP32",
                                            "data": [0.0] * 65 * 64}]), {}, 400, "the batch is 65"),
    "unknown output": (json.dumps({"inputs": [{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                               "data": ZEROS_64}], "outputs": [{"name": "probs"}]}).encode(),
                       {}, 400, "no output 'probs'"),
}


@pytest.mark.parametrize("case", HTTP_CASES)
def test_a_bad_http_request_is_refused_by_name_and_the_server_keeps_serving(case, urls, http, own_words):
    body, headers, status, words = HTTP_CASES[case]
    got, answer = post(urls[0], "/v2/models/digits/infer", body, {"Content-Type": "application/json", **headers})
    assert got == status, answer
    assert words in answer["error"] or not own_words
    still_serving(http)


def binary_request(declared: int, actual: int, header_length=None) -> tuple[bytes, dict]:
    head = json.dumps({"inputs": [{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32",
                                   "parameters": {"binary_data_size": declared}}]}).encode()
    length = str(len(head)) if header_length is None else header_length
    return head + b"\0" * actual, {"Inference-Header-Content-Length": length}


@pytest.mark.parametrize("declared, actual, words", [
    (256, 200, "only 200 bytes"),  # truncated
    (200, 200, "200 bytes of data for FP32 of shape [1, 1, 8, 8], which needs 256"),  # wrong size
    (256, 300, "44 bytes of binary data"),  # trailing bytes no input claims
])
def test_wrong_or_truncated_binary_sizes_are_refused(declared, actual, words, urls, http, own_words):
    body, headers = binary_request(declared, actual)
    status, answer = post(urls[0], "/v2/models/digits/infer", body, headers)
    assert status == 400 and (words in answer["error"] or not own_words)
    still_serving(http)


def test_a_header_length_past_the_body_is_refused(urls, http, own_words):
    body, headers = binary_request(256, 256, header_length="999999")
    status, answer = post(urls[0], "/v2/models/digits/infer", body, headers)
    assert status == 400 and ("Inference-Header-Content-Length" in answer["error"] or not own_words)


def test_an_unsupported_content_encoding_is_501(urls, own_words):
    status, answer = post(urls[0], "/v2/models/digits/infer", b"x", {"Content-Encoding": "br"})
    assert status == 501 and ("br" in answer["error"] or not own_words)


def test_statistics_of_a_model_this_server_lacks_are_a_bad_request(urls, http):
    assert http_client_get(urls[0], "/v2/models/digitz/stats")[0] == 400


def test_unknown_models_versions_and_routes_are_not_found(urls, http, own_words):
    with pytest.raises(InferenceServerException) as caught:
        http.get_model_metadata("digitz")
    assert caught.value.status() == "404" and ("unknown model 'digitz'; this server has" in caught.value.message()
                                                or not own_words)
    with pytest.raises(InferenceServerException) as caught:
        http.get_model_metadata("digits", model_version="7")
    assert caught.value.status() == "404" and ("no version '7'" in caught.value.message() or not own_words)
    status, answer = post(urls[0], "/v2/models/digitz/infer", infer_body([]))
    assert status == 404 and "digitz" in answer["error"]
    status, answer = post(urls[0], "/v3/anything", b"")
    assert status == 404 and ("no route" in answer["error"] or not own_words)
    assert not http.is_model_ready("digitz")


def grpc_error(call) -> InferenceServerException:
    with pytest.raises(InferenceServerException) as caught:
        call()
    return caught.value


def test_bad_grpc_requests_are_invalid_argument_or_not_found_by_name(grpc, http, own_words):
    tensor = tritonclient_grpc.InferInput("image", [1, 1, 8, 9], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 1, 8, 9), np.float32))
    error = grpc_error(lambda: grpc.infer("digits", [tensor]))
    assert error.status() == "StatusCode.INVALID_ARGUMENT" and ("must be 8" in error.message() or not own_words)
    tensor = tritonclient_grpc.InferInput("image", [1, 1, 8, 8], "FP16")
    tensor.set_data_from_numpy(np.zeros((1, 1, 8, 8), np.float16))
    error = grpc_error(lambda: grpc.infer("digits", [tensor]))
    assert error.status() == "StatusCode.INVALID_ARGUMENT" and ("datatype FP16" in error.message() or not own_words)
    error = grpc_error(lambda: grpc.get_model_metadata("digitz"))
    assert error.status() == "StatusCode.NOT_FOUND"
    still_serving(http)


def test_grpc_raw_contents_of_the_wrong_size_are_refused(urls, http, own_words):
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc_module.insecure_channel(urls[1]))
    request = service_pb2.ModelInferRequest(model_name="digits")
    request.inputs.add(name="image", datatype="FP32", shape=[1, 1, 8, 8])
    request.raw_input_contents.append(b"\0" * 100)
    with pytest.raises(grpc_module.RpcError) as caught:
        stub.ModelInfer(request, timeout=30)
    assert caught.value.code() == grpc_module.StatusCode.INVALID_ARGUMENT
    assert "100 bytes of data for FP32" in caught.value.details() or not own_words
    still_serving(http)


def test_typed_grpc_contents_are_accepted_as_well_as_raw(urls, local_models):
    stub = service_pb2_grpc.GRPCInferenceServiceStub(grpc_module.insecure_channel(urls[1]))
    request = service_pb2.ModelInferRequest(model_name="digits")
    x = np.random.default_rng(3).random((1, 1, 8, 8), dtype=np.float32)
    request.inputs.add(name="image", datatype="FP32", shape=[1, 1, 8, 8]).contents.fp32_contents.extend(x.ravel())
    response = stub.ModelInfer(request, timeout=30)
    got = np.frombuffer(response.raw_output_contents[0], np.float32).reshape(1, 10)
    np.testing.assert_array_equal(got, local_models["digits"].run(x))


def test_a_route_called_with_the_wrong_method_is_405_naming_the_right_one(urls, own_words):
    host, port = urls[0].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/v2/models/digits/infer")
    response = connection.getresponse()
    assert response.status == 405 and ("takes POST" in json.loads(response.read())["error"] or not own_words)
