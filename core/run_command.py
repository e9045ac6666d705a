"""``visionrt run``: image files through the model's task API, each input judged on its own."""

import json
import sys
from pathlib import Path

from visionrt.errors import VisionRTError


def add_run(sub) -> None:
    parser = sub.add_parser("run", help="run a model on images with the torch-free runtime",
                            description="Run image files (any size or color mode) through the model's task API: "
                                        "classify() for classifiers, read() for text readers; denoise(), colorize(), stylize(), "
                                        "swap() and (vae) reconstruct() write "
                                        "<name>_<denoised|colorized|stylized|swapped_to_X|reconstructed>.png into -o DIR.")
    parser.add_argument("model", help="zoo name, model folder or .onnx file")
    parser.add_argument("inputs", nargs="+", help="image files")
    parser.add_argument("--backend", default="auto", help="auto, onnxruntime, openvino, or backend:device "
                        "(default auto)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16", "bf16", "int8"),
                        help="bf16: OpenVINO on CPUs with native BF16; int8: the gated INT8 file where "
                             "`visionrt export MODEL --int8` installed one (default auto)")
    parser.add_argument("--top-k", type=int, default=1, help="classifiers: how many labels to show")
    parser.add_argument("--ink", choices=("auto", "dark", "light"), default="auto",
                        help="digits and digit_reader: dark strokes on light paper, light on dark, or auto per image")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that already exist (default: keep "
                        "them and report the input)")
    parser.add_argument("--verbose", action="store_true", help="every reason for the backend and precision, and "
                        "ONNX Runtime's and OpenVINO's own log lines")
    parser.add_argument("--to", choices=("a", "b"), default="b", help="faceswap: the identity to swap to")
    parser.add_argument("-o", "--output", type=Path, help="write results_<model>.json (and any output images) here")
    parser.set_defaults(handler=cmd_run)


def cmd_run(args) -> int:
    from visionrt import atomic, runtime
    from visionrt.batch_run import (Outcome, batched, each, free_name, output_paths, save_npz, tensor_outputs,
                                    write_images, writable_folder)
    from visionrt.runtime.tasks import task_api

    if args.output:
        writable_folder(args.output)
    model = runtime.load(str(args.model), backend=args.backend, precision=args.precision)
    reasons = model.reasons
    choice = reasons[0].split(";")[0].split(" (")[0]  # the choice alone; --verbose and describe() keep the why
    print(f"{model!r}: {choice}")
    for reason in reasons if args.verbose else []:
        print(f"  {reason}")
    files, outcome = list(args.inputs), Outcome()
    api = task_api(model)
    answer = api.answer if api else None
    if answer == "labels":
        for path, p in batched(files, lambda items: model.classify(items, top_k=args.top_k, ink=args.ink), outcome):
            outcome.results.append({"input": path, "label": p.label, "probability": p.probability, "top_k": p.top_k,
                                    "ink": p.ink})
            others = ", ".join(f"{label} {q:.3f}" for label, q in p.top_k[1:])
            print(f"{path}: {p.label} ({p.probability:.4f})" + (f"  [{others}]" if others else "")
                  + (" (light ink on dark)" if p.ink == "light" else ""))
    elif answer == "image":
        if not args.output:
            raise VisionRTError("image-to-image models write pictures: pass -o DIR")
        transform, suffix = getattr(model, api.method), api.suffix
        if hasattr(model, "direction"):  # one face-swap graph: its direction, so a_ and b_ outputs never collide
            suffix = f"{api.suffix}_to_{model.direction}"
        if api.method == "swap":  # both directions behind one name: --to says which
            transform, suffix = (lambda item: model.swap(item, to=args.to)), f"{api.suffix}_to_{args.to}"
        write_images(each(files, transform, outcome), output_paths(files, args.output, suffix), args.overwrite, outcome)
    elif answer == "text":
        for path, r in batched(files, lambda items: model.read(items, ink=args.ink), outcome):
            outcome.results.append({"input": path, "text": r.text, "confidence": r.confidence, "ink": r.ink})
            print(f"{path}: {r.text!r} (confidence {r.confidence:.4f})" + (" (light ink on dark)" if r.ink == "light" else ""))
    elif model.describe().get("task") is None:  # a tensor model: .npy batches in, an .npz of its outputs each out
        if not args.output:
            raise VisionRTError("a model without a task writes each input's outputs as .npz: pass -o DIR")
        write_images(each(files, lambda path: tensor_outputs(model, path), outcome),
                     output_paths(files, args.output, "outputs", ".npz"), args.overwrite, outcome, save=save_npz)
    else:
        raise VisionRTError(f"{args.model} has no task API the CLI knows (task: {model.describe()['task']}); use the Python run()")
    if args.output:
        target = free_name(args.output / f"results_{Path(str(args.model)).stem}.json", args.overwrite)
        described = model.describe()
        parts = {} if "backend" in described else \
            {key: value for key, value in described.items() if isinstance(value, dict)}  # a composite's graphs
        summary = {key: described.get(key) for key in ("model", "task", "backend", "device", "precision")} \
            if not parts else {"model": described.get("model"), "parts": {
                name: {key: part.get(key) for key in ("model", "backend", "device", "precision")}
                for name, part in parts.items()}}
        try:
            atomic.write_text(target, json.dumps({"model": {**summary, "choice": choice}, "results": outcome.results,
                                                  "failed": outcome.failed}, indent=1))
        except OSError as exc:  # a full disk, a folder made read-only since the check
            raise VisionRTError(f"cannot write {target}: {exc.strerror or exc}") from exc
        print(f"wrote {target}")
    for failure in outcome.failed:
        print(f"visionrt run: error: {failure['input']}: {failure['error']}", file=sys.stderr)
    if outcome.failed:
        print(f"visionrt run: {len(outcome.failed)} of {len(files)} input(s) failed; the others' results are kept",
              file=sys.stderr)
        return 2
    return 0
