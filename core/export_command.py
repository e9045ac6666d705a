"""``visionrt export``: a zoo checkpoint (or the installed weights), a composite's graphs each, INT8 or a
TensorRT engine from the installed files, or a user's own model (``byo_command``)."""

import json
from pathlib import Path

from visionrt import byo_command
from visionrt.errors import VisionRTError
from visionrt.zoo_args import graphs, zoo_names


def add_export(sub) -> None:
    parser = sub.add_parser("export", help="export a checkpoint (or your own model) to validated FP32 and FP16 ONNX",
                            description="Export to ONNX (dynamic batch, metadata), convert to FP16, check both "
                                        "against PyTorch, and only then install them into the model repository. "
                                        "A zoo MODEL, or your own with --module or --onnx.")
    parser.add_argument("model", nargs="?", choices=zoo_names())
    parser.add_argument("--checkpoint", type=Path, help="default: the newest runs/<model>-*/best.pt, else the "
                        "installed weights.pt")
    parser.add_argument("--repository", type=Path, help="model repository (default: the shipped zoo)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs"))
    parser.add_argument("--keep-fp32", nargs="+", default=[], metavar="NODE_OR_OP",
                        help="compute these nodes (names) or op types in FP32 in the FP16 file too, e.g. the node a "
                        "failed FP16 gate names; see `visionrt compare MODEL` for the names")
    parser.add_argument("--trt", action="store_true", help="instead: build a TensorRT engine for this GPU from the "
                        "installed ONNX into the engine cache (needs visionrt[gpu])")
    parser.add_argument("--int8", action="store_true", help="instead: quantize the installed FP32 file to INT8 (QDQ, "
                        "calibrated on the training split) and install model_int8.onnx if it passes its gate against "
                        "FP32 on held-out data (top-1 agreement >= 99.5%% or PSNR >= 35 dB)")
    parser.add_argument("--bf16", action="store_true", help="instead: measure the installed FP32 file computed at BF16 "
                        "by OpenVINO against FP32 on held-out data (same bars as --int8) and record the gate beside it "
                        "(gate_bf16.json), which `visionrt tune` and precision auto need; on a CPU with native BF16")
    parser.add_argument("--precision", choices=("fp16", "fp32", "int8"), default="fp16", help="with --trt (default "
                        "fp16; int8 builds the gated INT8 file, explicitly quantized, strongly typed)")
    parser.add_argument("--engine-cache", type=Path, help="with --trt: cache folder (default "
                        "$VISIONRT_ENGINE_CACHE or ~/.cache/visionrt/engines)")
    byo_command.add_arguments(parser)
    parser.set_defaults(handler=cmd_export)


def newest_checkpoint(runs_dir: Path, model: str, installed: Path | None = None) -> Path:
    """The newest ``runs/<model>-*/best.pt`` (or ``runs/*/<model>.pt`` for runs that train several graphs), else
    the ``installed`` checkpoint beside the artifact: a fresh clone has no runs, and re-exporting the shipped
    weights (with another --keep-fp32, say) is what a user asks for then."""
    from visionrt.train.runs import checkpoints

    found = checkpoints(runs_dir, model)
    if found:
        return found[-1]
    if installed is not None and installed.is_file():
        print(f"no run under {runs_dir}/{model}-*/: exporting the installed checkpoint {installed}")
        return installed
    raise VisionRTError(f"no checkpoint under {runs_dir}/{model}-*/ and none installed at {installed}; run "
                        f"`visionrt train {model}` first or pass --checkpoint")


def cmd_export(args) -> int:
    if byo_command.wanted(args):
        report = byo_command.run(args)
        print_export_report(report, args.repository)
        return 0
    if not args.model:
        raise VisionRTError(f"name a zoo MODEL ({', '.join(zoo_names())}) or your own with --module or --onnx")
    if args.checkpoint and len(graphs(args.model)) > 1:
        raise VisionRTError(f"--checkpoint is one graph's; export {' and '.join(graphs(args.model))} one at a time")
    for graph in graphs(args.model):
        export_graph(args, graph)
    return 0


def export_graph(args, model: str) -> None:
    from visionrt import model_zoo
    from visionrt.export import ExportOptions, export_checkpoint

    if args.trt:
        build_trt(args, model)
        return
    if args.bf16:
        from visionrt.export.bf16 import add_bf16_gate

        print(f"{model}: {add_bf16_gate(model, args.repository).summary()}")
        return
    if args.int8:
        from visionrt.export.int8 import add_int8

        figures = add_int8(model, args.repository)["parity"]["int8_vs_fp32"]
        print(f"installed {model}'s INT8 file ({figures['calibration']} calibration); against FP32 on held-out "
              f"data: {json.dumps(figures['sets'])}")
        return
    options = ExportOptions(keep_fp32=tuple(args.keep_fp32))
    if args.repository:
        options.repository = args.repository
    installed = Path(options.repository) / model / "weights.pt"
    checkpoint = args.checkpoint or newest_checkpoint(args.runs_dir, model, installed)
    report = export_checkpoint(checkpoint, options)
    print_export_report(report, options.repository)
    if Path(options.repository).resolve() == model_zoo.repository_path().resolve():
        from visionrt import zoo_listing as listing

        print(f"wrote {listing.write_card(model)} (the card of the model just installed)")
    else:
        print("no MODEL_CARD.md here: a card that described the replaced export was removed; cards are generated "
              "in the shipped zoo (`visionrt zoo card`)")


def build_trt(args, model: str) -> None:
    from visionrt import model_zoo
    from visionrt.export.tensorrt_build import build_engine
    from visionrt.runtime import source
    from visionrt.runtime.engine_cache import EngineCache

    repository = args.repository or model_zoo.repository_path()
    files = source.resolve(repository / model).files
    if args.precision not in files:
        raise VisionRTError(f"{repository / model} has no {args.precision} ONNX; export the model first")
    build_engine(files[args.precision], EngineCache(args.engine_cache))


def print_export_report(report: dict, repository: Path) -> None:
    print(f"exported {report['model']} from {report.get('source_weights_sha256', '')[:12]} into {repository / report['model']}")
    clipped = report.get("fp16_clipped_weights")
    if clipped:
        print(f"  FP16 file: weights beyond +-1e4 clipped, within the gates: {clipped}")
    for check, result in report["parity"].items():
        for name, figures in result["sets"].items():
            agreement = f", top-1 agreement {figures['top1_agreement']:.4f}" if "top1_agreement" in figures else ""
            psnr = f", PSNR {figures['psnr_db']:.1f} dB" if "psnr_db" in figures else ""
            error = f"max abs error {figures['max_abs_error']:.2e}" if "max_abs_error" in figures else "against FP32"
            print(f"  {check:16s} {name:16s} {error}{agreement}{psnr}")
