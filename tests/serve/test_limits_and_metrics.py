"""Limits a service needs (body size, request time) and the metrics endpoint, in Triton's names."""

import http.client
import json
import urllib.request

import numpy as np
import pytest
import tritonclient.http as tritonclient_http
from tritonclient.utils import InferenceServerException

from serving import free_options
from visionrt.serve import Server


@pytest.fixture(scope="module")
def strict():
    """A server with a 1 MiB body limit and a 1 ms request timeout."""
    serving = Server(free_options(models=("digits", "style"), max_request_bytes=1 << 20, request_timeout_s=0.001),
                     progress=lambda line: None)
    with serving.running() as endpoints:
        yield endpoints


def test_a_body_over_the_limit_is_413_naming_the_limit(strict):
    host, port = strict.http.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/v2/models/digits/infer", body=b"{" + b" " * (2 << 20) + b"}")
    response = connection.getresponse()
    assert response.status == 413 and "limit of 1,048,576 bytes" in json.loads(response.read())["error"]


def test_a_request_past_the_timeout_is_504_and_the_server_keeps_serving(strict):
    client = tritonclient_http.InferenceServerClient(strict.http)
    tensor = tritonclient_http.InferInput("image", [1, 3, 64, 64], "FP32")
    tensor.set_data_from_numpy(np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32), binary_data=True)
    with pytest.raises(InferenceServerException, match="did not answer within 0.001 s"):
        client.infer("style", [tensor])
    assert client.is_server_ready()
    failures = client.get_inference_statistics("style")["model_stats"][0]["inference_stats"]["fail"]["count"]
    assert failures >= 1


def test_metrics_use_tritons_names_and_agree_with_the_statistics(urls, http, server):
    if server is None:
        pytest.skip("the metrics port of an external server is not known here")
    x = np.zeros((4, 1, 8, 8), np.float32)
    tensor = tritonclient_http.InferInput("image", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    http.infer("digits", [tensor])
    text = urllib.request.urlopen(f"http://{server.endpoints.metrics}/metrics", timeout=30).read().decode()
    stats = http.get_inference_statistics("digits")["model_stats"][0]
    values = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and line[0] != "#"}
    labels = '{model="digits",version="1"}'
    assert values["nv_inference_count" + labels] == stats["inference_count"]
    assert values["nv_inference_exec_count" + labels] == stats["execution_count"]
    assert values["nv_inference_request_success" + labels] == stats["inference_stats"]["success"]["count"]
    assert values['visionrt_batch_size_bucket{model="digits",version="1",le="+Inf"}'] == stats["execution_count"]
    assert "# TYPE nv_inference_queue_duration_us counter" in text


def test_listening_sockets_set_tcp_nodelay_which_accepted_connections_inherit():
    """Without it every HTTP reply (head and body written apart) waited ~44 ms on Nagle and delayed ACK."""
    import socket

    from visionrt.serve.server import bound_socket

    sock = bound_socket("127.0.0.1", 0)
    try:
        sock.listen()
        client = socket.create_connection(sock.getsockname(), timeout=10)
        accepted, _ = sock.accept()
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        accepted.close()
        client.close()
    finally:
        sock.close()


def test_a_task_upload_over_the_servers_pixel_limit_is_refused_from_its_header():
    import io

    from PIL import Image

    serving = Server(free_options(models=("denoiser",), max_image_pixels=10_000), progress=lambda line: None)
    buffer = io.BytesIO()
    Image.new("RGB", (200, 100)).save(buffer, format="PNG")  # 20,000 pixels
    with serving.running() as endpoints:
        host, port = endpoints.http.rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        connection.request("POST", "/v2/models/denoiser/denoise", body=buffer.getvalue())
        response = connection.getresponse()
        assert response.status == 400 and "over the limit of 10,000" in json.loads(response.read())["error"]
