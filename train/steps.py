"""The step loop the image trainers share: a loss per step, validation every few steps, the best weights kept.

Each trainer keeps what is its own (how a batch is drawn and scored, what validation measures); this keeps
the rest in one place: the optimizer step with its per-step schedule, the history every report plots, the
progress bar, and restoring the best validated state at the end.
"""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from visionrt.extras import require
from visionrt.train import loop


@dataclass
class StepsResult:
    best_key: float  # the validation figure the best state was chosen by
    best_step: int
    best_record: object  # what validate() gave alongside the key at that step (None when it gave none)
    history: list[dict] = field(default_factory=list)


def train_steps(model, optimizer, schedule, steps: int, eval_every: int, step_loss: Callable[[int], object],
                validate: Callable[[], tuple[float, object]], *, higher_is_better: bool = True, desc: str,
                progress: bool = True, clip: float | None = None, shown: str = "val") -> StepsResult:
    """Run ``steps`` updates of ``step_loss(step)`` (a loss tensor, computed in train mode); every
    ``eval_every`` steps and at the last, ``validate()`` in eval mode gives (key, record). The model ends in
    eval mode holding the state with the best key; each history row is {epoch (the step), train_loss (the
    mean since the last validation), val_loss: None, val_acc (the key)}, plus "val" when a record is given."""
    tqdm = require("tqdm", "train").tqdm
    history, best, running = [], loop.BestState(), []
    bar = tqdm(range(1, steps + 1), desc=desc, unit="step", disable=not progress, mininterval=0.5)
    for step in bar:
        model.train()
        running.append(loop.optimizer_step(optimizer, step_loss(step), schedule, clip=clip))
        if step % eval_every == 0 or step == steps:
            model.eval()
            key, record = validate()
            row = {"epoch": step, "train_loss": float(np.mean(running)), "val_loss": None, "val_acc": key}
            history.append(row if record is None else {**row, "val": record})
            running = []
            bar.set_postfix({shown: f"{key:.3f}"})
            best.offer(key if higher_is_better else -key, step, model, record)
    bar.close()
    best.restore(model).eval()
    return StepsResult(best.score if higher_is_better else -best.score, best.step, best.record, history)
