"""The shared step loop and run folders: the best validated state is the one kept, in either direction, and
no run writes into another's folder."""

import pytest

torch = pytest.importorskip("torch")

from visionrt.train import runs, steps  # noqa: E402


def tiny_run(keys: list[float], higher_is_better: bool):
    """A one-weight model stepped once per key; validation reports the keys in turn, recording the weight."""
    model = torch.nn.Linear(1, 1, bias=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    queue = list(keys)

    def validate():
        return queue.pop(0), float(model.weight.item())

    result = steps.train_steps(model, optimizer, None, len(keys), 1, lambda step: model(torch.ones(1, 1)).sum(),
                               validate, higher_is_better=higher_is_better, desc="test", progress=False)
    return model, result


@pytest.mark.parametrize("higher, best_step", [(True, 2), (False, 3)])
def test_the_best_validated_state_is_restored_whichever_way_is_better(higher, best_step):
    model, result = tiny_run([1.0, 5.0, 0.5, 2.0], higher)
    assert result.best_step == best_step and result.best_key == [1.0, 5.0, 0.5, 2.0][best_step - 1]
    assert float(model.weight.item()) == result.best_record  # the weights as they were at that step
    assert [row["epoch"] for row in result.history] == [1, 2, 3, 4] and not model.training


def test_two_runs_in_the_same_second_get_two_folders(tmp_path):
    first, second = runs.new_run_dir(tmp_path, "digits", 0), runs.new_run_dir(tmp_path, "digits", 0)
    assert first != second and first.is_dir() and second.is_dir()
    (first / "best.pt").write_bytes(b"x")
    assert runs.checkpoints(tmp_path, "digits") == [first / "best.pt"]
    assert runs.checkpoints(tmp_path, "digit_reader") == []
