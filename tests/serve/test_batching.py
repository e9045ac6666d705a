"""Dynamic batching seen from outside: many concurrent clients, no error, every answer the one the runtime
gives that request alone, and the statistics showing that requests were run together."""

import threading

import numpy as np
import pytest
import tritonclient.grpc as tritonclient_grpc
import tritonclient.http as tritonclient_http

from serving import example

CLIENTS, REQUESTS = 32, 50


def run_clients(count: int, work) -> list[BaseException]:
    errors, start = [], threading.Barrier(count)

    def client(index):
        try:
            start.wait()
            work(index)
        except BaseException as exc:  # collected: the test reports every failure
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def batch_stats(http, name: str) -> dict[int, int]:
    return {e["batch_size"]: e["compute_infer"]["count"]
            for e in http.get_inference_statistics(name)["model_stats"][0]["batch_stats"]}


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_32_concurrent_clients_get_their_own_answers_in_batched_executions(protocol, urls, http, local_models):
    model = local_models["digits"]
    inputs = [example(model, batch=1, seed=seed) for seed in range(CLIENTS * REQUESTS)]
    module = tritonclient_http if protocol == "http" else tritonclient_grpc
    before = batch_stats(http, "digits")
    answers = {}

    def work(index):
        client = module.InferenceServerClient(urls[0] if protocol == "http" else urls[1])
        for n in range(REQUESTS):
            seed = index * REQUESTS + n
            tensor = module.InferInput("image", [1, 1, 8, 8], "FP32")
            tensor.set_data_from_numpy(inputs[seed])
            answers[seed] = client.infer("digits", [tensor]).as_numpy("logits")

    assert run_clients(CLIENTS, work) == []
    assert len(answers) == CLIENTS * REQUESTS
    for seed, got in answers.items():  # a batched answer is the unbatched one, bit for bit
        np.testing.assert_array_equal(got, model.run(inputs[seed]))
    after = batch_stats(http, "digits")
    joined = {size: count - before.get(size, 0) for size, count in after.items() if size > 1}
    assert sum(joined.values()) > 0, f"no batched execution among {after}"
    items = sum(size * (count - before.get(size, 0)) for size, count in after.items())
    assert items >= CLIENTS * REQUESTS


def test_an_image_model_batched_with_others_gives_each_request_its_own_picture(urls, local_models):
    model = local_models["style"]
    inputs = [example(model, batch=1, seed=seed) for seed in range(8)]
    answers = {}

    def work(index):
        client = tritonclient_grpc.InferenceServerClient(urls[1])
        tensor = tritonclient_grpc.InferInput("image", list(inputs[index].shape), "FP32")
        tensor.set_data_from_numpy(inputs[index])
        answers[index] = client.infer("style", [tensor]).as_numpy(model.outputs[0].name)

    assert run_clients(len(inputs), work) == []
    for index, got in answers.items():
        np.testing.assert_array_equal(got, model.run(inputs[index]))
