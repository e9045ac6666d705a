"""The task table declares each task once; what the CLI, the server and the export gates do follows from it."""

import pytest

from visionrt.runtime import tasks


@pytest.mark.parametrize("name", [*tasks.TASKS, *tasks.COMPOSITES])
def test_every_task_names_a_method_its_class_has_and_an_answer_kind_the_callers_know(name):
    api = {**tasks.TASKS, **tasks.COMPOSITES}[name]
    assert callable(getattr(api.model_class, api.method, None))
    assert api.answer in tasks.ANSWERS
    assert bool(api.suffix) == (api.answer == "image")  # image answers are written as <stem>_<suffix>.png


def test_the_export_gates_hold_class_scores_to_top1_agreement_for_exactly_the_scoring_tasks():
    assert tasks.TOP1_TASKS == ("classification", "text_recognition")


def test_a_loaded_model_and_a_composite_find_their_entry():
    from visionrt import runtime

    assert tasks.task_api(runtime.load("digits")).method == "classify"
    assert tasks.task_api(runtime.load("faceswap")).method == "swap"
    assert tasks.task_api(runtime.load("faceswap_to_b")).route_name == "swap"
