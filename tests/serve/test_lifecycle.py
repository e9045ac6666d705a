"""A server's life as a production service sees it: live at once, ready only once every model is loaded and
warmed, and on SIGTERM every accepted request answered before it exits 0."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tritonclient.grpc as tritonclient_grpc
import tritonclient.http as tritonclient_http
from tritonclient.utils import InferenceServerException

from visionrt import runtime
from visionrt.serve import Server, server as server_module

from serving import free_options


def start_serving(*arguments) -> tuple[subprocess.Popen, str, str]:
    command = [sys.executable, "-m", "visionrt.cli", "serve", "--http-port", "0", "--grpc-port", "0",
               "--metrics-port", "0", "--quiet", *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = process.stdout.readline()
    found = re.search(r"HTTP (\S+), gRPC (\S+),", first)
    assert found, first
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if "ready in" in line or time.monotonic() > deadline:
            break
    return process, found.group(1), found.group(2)


def test_sigterm_during_load_answers_every_accepted_request_and_exits_0():
    process, http_url, grpc_url = start_serving("--model", "style")
    model = runtime.load("style")
    x = np.random.default_rng(0).random((1, 3, 128, 128), dtype=np.float32)
    want = model.run(x)
    outcomes, stop = {"ok": 0, "refused": 0, "wrong": 0, "other": []}, threading.Event()
    lock = threading.Lock()

    def client(module, url):
        connection = module.InferenceServerClient(url)
        while not stop.is_set():
            tensor = module.InferInput("image", list(x.shape), "FP32")
            tensor.set_data_from_numpy(x)
            try:
                got = connection.infer("style", [tensor]).as_numpy(model.outputs[0].name)
                kind = "ok" if np.array_equal(got, want) else "wrong"
            except InferenceServerException as exc:
                text = f"{exc.status()} {exc.message()}"
                # gRPC cancels calls that arrive once its server is stopping: refused too, as the count below proves
                refused = any(word in text for word in ("shutting down", "UNAVAILABLE", "CANCELLED", "onnect", "503"))
                if not refused:
                    with lock:
                        outcomes["other"].append(text)
                kind = "refused"
            except OSError:  # the listener closed: the request was never accepted
                kind = "refused"
            with lock:
                outcomes[kind] += 1
            if kind == "refused":
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(module, url)) for module, url in
               [(tritonclient_http, http_url), (tritonclient_grpc, grpc_url)] * 4]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    rest = process.communicate(timeout=60)[0]
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert process.returncode == 0, rest
    answered = int(re.search(r"stopped after answering (\d+) request", rest).group(1))
    assert outcomes["wrong"] == 0 and outcomes["other"] == []
    assert outcomes["ok"] == answered > 0  # every request the server answered reached its client


def test_live_at_once_ready_only_after_the_models_are_loaded(monkeypatch):
    release, real = threading.Event(), server_module.load_models

    def slow_load(*args, **kwargs):
        release.wait(timeout=60)
        return real(*args, **kwargs)

    monkeypatch.setattr(server_module, "load_models", slow_load)
    serving, done = Server(free_options(models=("digits",)), progress=lambda line: None), threading.Event()

    def hold():
        with serving.running():
            done.wait(timeout=120)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while serving.endpoints is None and time.monotonic() < deadline:
            time.sleep(0.01)
        client = tritonclient_http.InferenceServerClient(serving.endpoints.http)
        assert client.is_server_live() and not client.is_server_ready()
        tensor = tritonclient_http.InferInput("image", [1, 1, 8, 8], "FP32")
        tensor.set_data_from_numpy(np.zeros((1, 1, 8, 8), np.float32))
        with pytest.raises(InferenceServerException, match="still loading models") as refused:  # not yet: retry
            client.infer("digits", [tensor])
        assert refused.value.status() == "503"
        release.set()
        while not serving.ready and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.is_server_ready() and client.is_model_ready("digits")
        assert client.infer("digits", [tensor]).as_numpy("logits").shape == (1, 10)
    finally:
        release.set()
        done.set()
        thread.join(timeout=60)
    assert not serving.live


def test_a_port_in_use_is_named():
    process, http_url, _ = start_serving("--model", "digits")
    try:
        port = http_url.rsplit(":", 1)[1]
        taken = subprocess.run([sys.executable, "-m", "visionrt.cli", "serve", "--model", "digits", "--http-port", port,
                                "--grpc-port", "0", "--metrics-port", "0"], capture_output=True, text=True, timeout=60,
                               env={**os.environ})
        assert taken.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr + taken.stdout
    finally:
        process.terminate()
        process.wait(timeout=30)
