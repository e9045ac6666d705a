"""A small supervised training loop: seeded, early-stopped on validation, with a progress bar."""

import copy
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from visionrt.errors import UserInputError
from visionrt.extras import require

OPTIMIZERS = ("adam", "sgd")


@dataclass
class FitConfig:
    optimizer: str = "adam"  # "adam", or "sgd" with Nesterov momentum
    lr: float = 2e-3
    batch_size: int = 64
    epochs: int = 150  # upper bound; early stopping usually ends sooner
    patience: int = 30  # epochs without a better validation score before stopping
    weight_decay: float = 1e-4
    momentum: float = 0.9  # SGD only
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            raise UserInputError(f"optimizer must be one of {OPTIMIZERS}, got '{self.optimizer}'")
        if self.lr <= 0 or self.batch_size < 1 or self.epochs < 1:
            raise UserInputError(f"lr, batch_size and epochs must be positive, got {asdict(self)}")


@dataclass
class FitResult:
    best_state: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)


class BestState:
    """The best validated weights so far, by a score where larger is better, and whether patience ran out:
    the early stopping every trainer here does, kept once."""

    def __init__(self, patience: int | None = None):
        self.patience, self.score, self.step, self.record, self.state = patience, None, -1, None, None

    def offer(self, score, step: int, model, record=None) -> bool:
        """Keep ``model``'s weights if ``score`` beats the best; True when ``patience`` steps passed without."""
        if self.score is None or score > self.score:
            self.score, self.step, self.record, self.state = score, step, record, copy.deepcopy(model.state_dict())
            return False
        return self.patience is not None and step - self.step >= self.patience

    def restore(self, model):
        model.load_state_dict(self.state)
        return model


# prepare(batch_x, generator, training) -> network input; where augmentation and normalization happen
Prepare = Callable[..., "object"]


def make_optimizer(model, config: FitConfig):
    torch = require("torch", "train")
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum,
            nesterov=True, weight_decay=config.weight_decay,
        )
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def evaluate_loss(model, x, y, prepare: Prepare, batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on arrays ``x``, ``y`` (no augmentation)."""
    torch = require("torch", "train")
    model.eval()
    losses, correct = [], 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            xb = prepare(torch.from_numpy(x[start : start + batch_size]), None, False)
            yb = torch.from_numpy(y[start : start + batch_size])
            logits = model(xb)
            losses.append(torch.nn.functional.cross_entropy(logits, yb, reduction="sum").item())
            correct += (logits.argmax(1) == yb).sum().item()
    return sum(losses) / len(x), correct / len(x)


def fit(model, train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
        config: FitConfig, prepare: Prepare) -> FitResult:
    """Train with cross-entropy; keep the weights with the best (val accuracy, -val loss)."""
    torch = require("torch", "train")
    tqdm = require("tqdm", "train").tqdm
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(model, config)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    x_train, y_train = torch.from_numpy(train[0]), torch.from_numpy(train[1])
    best, history = BestState(config.patience), []
    bar = tqdm(range(config.epochs), desc="train", unit="epoch", disable=not config.progress, leave=False, mininterval=0.5)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            logits = model(prepare(x_train[index], generator, True))
            loss = torch.nn.functional.cross_entropy(logits, y_train[index])
            total += optimizer_step(optimizer, loss) * len(index)
        schedule.step()
        val_loss, val_acc = evaluate_loss(model, *val, prepare)
        history.append({"epoch": epoch, "train_loss": total / len(order), "val_loss": val_loss, "val_acc": val_acc})
        bar.set_postfix(val_acc=f"{val_acc:.4f}", val_loss=f"{val_loss:.4f}")
        if best.offer((val_acc, -val_loss), epoch, model):
            break
    bar.close()
    best.restore(model)
    return FitResult(best_state=best.state, best_epoch=best.step, history=history)


def optimizer_step(optimizer, loss, schedule=None, clip: float | None = None) -> float:
    """One update: clear gradients, backpropagate, clip (if asked), step, advance a per-step schedule.
    Returns the loss as a float for logging."""
    torch = require("torch", "train")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        torch.nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    if schedule is not None:
        schedule.step()
    return loss.item()
