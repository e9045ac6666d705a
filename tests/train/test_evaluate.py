"""Metrics on a case small enough to check by hand."""

import numpy as np

from visionrt.train import evaluate

TRUTH = np.array([0, 0, 1, 1, 2, 2])
PREDICTED = np.array([0, 1, 1, 1, 2, 0])


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    assert evaluate.confusion_matrix(TRUTH, PREDICTED, 3).tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_accuracy_and_macro_precision_recall():
    metrics = evaluate.classification_metrics(TRUTH, PREDICTED, 3)
    assert metrics["accuracy"] == 4 / 6
    assert metrics["macro_precision"] == np.mean([1 / 2, 2 / 3, 1 / 1])
    assert metrics["macro_recall"] == np.mean([1 / 2, 2 / 2, 1 / 2])
    assert metrics["errors"] == 2


def test_a_class_never_predicted_has_zero_precision_not_nan():
    metrics = evaluate.classification_metrics(np.array([0, 1]), np.array([0, 0]), 2)
    assert metrics["macro_precision"] == 0.25


def test_confusion_text_and_png(tmp_path):
    matrix = evaluate.confusion_matrix(TRUTH, PREDICTED, 3)
    text = evaluate.confusion_text(matrix, ["a", "b", "c"])
    assert text.splitlines()[1].split() == ["a", "1", "1", "0"]
    path = evaluate.save_confusion_png(matrix, ["a", "b", "c"], tmp_path / "cm.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_edit_distance():
    assert evaluate.edit_distance("123", "123") == 0
    assert evaluate.edit_distance("123", "13") == 1
    assert evaluate.edit_distance("", "42") == 2
    assert evaluate.edit_distance("kitten", "sitting") == 3


def test_sequence_accuracy_and_character_error_rate():
    metrics = evaluate.sequence_metrics(["123", "45", "6"], ["123", "4", "7"])
    assert metrics["sequence_accuracy"] == 1 / 3
    assert metrics["character_error_rate"] == 2 / 6
    assert metrics["sequence_accuracy_by_length"] == {1: 0.0, 2: 0.0, 3: 1.0}
