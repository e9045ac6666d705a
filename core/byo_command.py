"""``visionrt export --module`` and ``visionrt export --onnx``: a user's own model through the zoo's export path.

    visionrt export --module my_pkg.models:build --weights w.pt --input image:1x3x224x224 \\
        --dynamic image:0,2,3 --name my_model --repository repo/
    visionrt export --onnx model.onnx --name my_model --repository repo/
"""

import json
import math
from pathlib import Path

from visionrt.errors import UserInputError


MAX_EXAMPLE_VALUES = 2**28  # float32: 1 GiB, far beyond any example a model is traced on


def add_arguments(parser) -> None:
    group = parser.add_argument_group("your own model (instead of a zoo MODEL)")
    group.add_argument("--module", metavar="PACKAGE.MODULE:CALLABLE", help="a callable that returns the "
                       "torch.nn.Module (a class or a factory function), importable from here")
    group.add_argument("--kwargs", default="{}", metavar="JSON", help="with --module: its keyword arguments, "
                       "e.g. '{\"num_classes\": 10}'")
    group.add_argument("--weights", type=Path, help="with --module: a state_dict saved with torch.save")
    group.add_argument("--input", metavar="NAME:SHAPE", help="with --module: the example input, e.g. "
                       "image:1x3x224x224 (batch first)")
    group.add_argument("--dynamic", nargs="+", default=[], metavar="NAME:AXES", help="with --module: axes that may "
                       "change size, e.g. image:0,2,3 (batch, height, width); the batch axis always may")
    group.add_argument("--onnx", type=Path, help="an existing ONNX file: metadata added, FP16 made and gated against it")
    group.add_argument("--name", help="the model's folder name in the repository")
    group.add_argument("--max-batch-size", type=int, default=32, help="largest batch served (default 32)")
    group.add_argument("--summary", default="", help="one line for the model card")


def wanted(args) -> bool:
    return bool(args.module or args.onnx)


def run(args) -> dict:
    from visionrt.export import user_model

    if args.model or not args.name or not args.repository or (args.module and args.onnx):
        raise UserInputError("export your own model with --module (or --onnx), --name and --repository, and no "
                             "zoo MODEL, e.g. `visionrt export --module pkg.models:build --input image:1x3x224x224 "
                             "--name my_model --repository repo/`")
    zoo_only = [flag for flag, used in (("--int8", args.int8), ("--trt", args.trt), ("--checkpoint", args.checkpoint),
                                          ("--precision", args.precision != "fp16")) if used]
    if zoo_only:
        raise UserInputError(f"{', '.join(zoo_only)}: for zoo models; with --module or --onnx, INT8 needs calibration "
                             "data, which only the Python API takes (export_model(..., calibration=...))")
    common = {"name": args.name, "repository": args.repository, "max_batch_size": args.max_batch_size,
              "summary": args.summary, "keep_fp32": tuple(args.keep_fp32)}
    if args.onnx:
        if args.input or args.dynamic or args.weights:
            raise UserInputError("--input, --dynamic and --weights are for --module; an ONNX file brings its own")
        return user_model.export_onnx_file(args.onnx, **common)
    if not args.input:
        raise UserInputError("--module needs --input NAME:SHAPE, e.g. image:1x3x224x224")
    name, example = example_input(args.input)
    return user_model.export_model(build_module(args.module, args.kwargs, args.weights), {name: example},
                                   dynamic=dynamic_axes(args.dynamic, name), **common)


def example_input(text: str):
    """``image:1x3x224x224`` as (name, a seeded standard-normal float32 tensor of that shape)."""
    import torch

    name, _, shape = text.partition(":")
    try:
        sizes = [int(part) for part in shape.lower().split("x")]
    except ValueError:
        sizes = []
    if not name or not sizes or min(sizes) < 1:
        raise UserInputError(f"--input {text!r}: expected NAME:SHAPE with positive sizes, e.g. image:1x3x224x224")
    if math.prod(sizes) > MAX_EXAMPLE_VALUES:
        raise UserInputError(f"--input {text!r} is {math.prod(sizes):,} values; an example for tracing needs one "
                             f"input at its usual size (at most {MAX_EXAMPLE_VALUES:,} values, 1 GiB)")
    return name, torch.randn(*sizes, generator=torch.Generator().manual_seed(0))


def dynamic_axes(words: list[str], input_name: str) -> dict:
    found = {}
    for word in words:
        name, _, axes = word.partition(":")
        try:
            found[name] = [int(axis) for axis in axes.split(",")]
        except ValueError:
            raise UserInputError(f"--dynamic {word!r}: expected NAME:AXES, e.g. {input_name}:0,2,3") from None
    return found


def build_module(target: str, kwargs_json: str, weights: Path | None):
    """The user's module: ``target`` imported and called with ``kwargs``, then ``weights`` loaded into it."""
    import importlib
    import sys

    import torch

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UserInputError(f"--module {target!r}: expected PACKAGE.MODULE:CALLABLE, e.g. my_pkg.models:build")
    try:
        kwargs = json.loads(kwargs_json)
    except json.JSONDecodeError as exc:
        raise UserInputError(f"--kwargs is not JSON: {exc}") from exc
    if not isinstance(kwargs, dict):
        raise UserInputError(f"--kwargs must be a JSON object of keyword arguments, got {kwargs_json!r}")
    sys.path.insert(0, str(Path.cwd()))  # a module beside the user, as `python -c "import ..."` would find it
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise UserInputError(f"--module {target}: cannot import it ({exc})") from exc
    finally:
        sys.path.pop(0)
    try:
        model = factory(**kwargs)
    except TypeError as exc:  # a keyword the factory does not take
        raise UserInputError(f"--module {target} with --kwargs {kwargs_json}: {exc}") from exc
    if not isinstance(model, torch.nn.Module):
        raise UserInputError(f"--module {target} returned {type(model).__name__}, not a torch.nn.Module")
    if weights is not None:
        load_weights(model, weights)
    return model


def load_weights(model, path: Path) -> None:
    import torch

    import pickle

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:  # weights_only refuses other objects
        raise UserInputError(f"--weights {path}: cannot read it as a torch state_dict ({exc})") from exc
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError) as exc:
        detail = " ".join(line.strip() for line in str(exc).splitlines()[:3])
        raise UserInputError(f"--weights {path} does not fit the module: {detail[:400]}") from exc
