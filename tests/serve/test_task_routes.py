"""Task routes: an image file in, the task's answer out, equal to what the task API gives in-process."""

import http.client
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from visionrt import runtime

SAMPLES = Path(__file__).resolve().parents[2] / "model_zoo" / "samples"


def post(url, path, body: bytes, content_type="application/octet-stream"):
    host, port = url.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def test_classify_takes_a_png_and_answers_the_label_the_runtime_gives(urls, local_models):
    for digit in (3, 7):
        path = SAMPLES / "digits" / f"digit_{digit}.png"
        status, kind, body = post(urls[0], "/v2/models/digits/classify?top_k=3", path.read_bytes())
        assert status == 200 and kind == "application/json"
        answer, want = json.loads(body), local_models["digits"].classify(path, top_k=3)
        assert answer["label"] == want.label == str(digit)
        assert answer["probability"] == pytest.approx(want.probability, abs=1e-12)
        assert len(answer["top_k"]) == 3


def test_read_answers_the_digit_string(urls):
    path = SAMPLES / "digit_reader" / "string_4649.png"
    status, _, body = post(urls[0], "/v2/models/digit_reader/read", path.read_bytes())
    assert status == 200 and json.loads(body)["text"] == "4649"


@pytest.mark.parametrize("name, route, sample", [("style", "stylize", "style"), ("denoiser", "denoise", "denoiser"),
                                                 ("colorizer", "colorize", "colorizer")])
def test_image_routes_return_a_png_of_the_inputs_size_equal_to_the_task_api(name, route, sample, urls):
    path = sorted((SAMPLES / sample).glob("*.png"))[0]
    status, kind, body = post(urls[0], f"/v2/models/{name}/{route}", path.read_bytes())
    assert status == 200 and kind == "image/png"
    got = Image.open(io.BytesIO(body))
    want = getattr(runtime.load(name), route)(path)
    assert got.size == Image.open(path).size == want.size
    assert got.tobytes() == want.convert(got.mode).tobytes()


def test_a_multipart_form_upload_works_like_a_plain_body(urls):
    image = (SAMPLES / "digits" / "digit_5.png").read_bytes()
    boundary = "visionrt-test-boundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"digit_5.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    status, _, body = post(urls[0], "/v2/models/digits/classify", form, f"multipart/form-data; boundary={boundary}")
    assert status == 200 and json.loads(body)["label"] == "5"


@pytest.mark.parametrize("body, words", [(b"not an image at all", "is not a readable image"),
                                         (b"", "body is empty")])
def test_an_undecodable_or_empty_upload_is_a_400_naming_it(body, words, urls):
    status, _, answer = post(urls[0], "/v2/models/digits/classify", body)
    assert status == 400 and words in json.loads(answer)["error"]


def test_a_bad_query_parameter_is_named(urls):
    image = (SAMPLES / "digits" / "digit_5.png").read_bytes()
    status, _, answer = post(urls[0], "/v2/models/digits/classify?top_k=11", image)
    assert status == 400 and "top_k must be in 1..10" in json.loads(answer)["error"]
    status, _, answer = post(urls[0], "/v2/models/digits/classify?ink=purple", image)
    assert status == 400 and "ink must be one of" in json.loads(answer)["error"]


def test_the_wrong_route_for_a_model_names_the_right_one(urls):
    image = (SAMPLES / "digits" / "digit_5.png").read_bytes()
    status, _, answer = post(urls[0], "/v2/models/digits/stylize", image)
    assert status == 404 and "POST /v2/models/digits/classify" in json.loads(answer)["error"]
    status, _, answer = post(urls[0], "/v2/models/vae_decoder/decode", image)
    assert status == 404 and "has no task route (use infer)" in json.loads(answer)["error"]
