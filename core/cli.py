"""The ``visionrt`` command: train, photos, export, compare, run, bench, tune, zoo, engines, serve and
bench-serve, each with its own --help. The larger commands live in their own modules (``export_command``,
``run_command``, ``serve_command``, ``byo_command``, ``benchmarks.serve_command``)."""

import argparse
import sys
from pathlib import Path

from visionrt.benchmarks.serve_command import add_bench_serve
from visionrt.errors import VisionRTError
from visionrt.export_command import add_export, print_export_report
from visionrt.run_command import add_run
from visionrt.serve_command import add_serve
from visionrt.zoo_args import graphs, zoo_names


def add_train(sub) -> None:
    parser = sub.add_parser("train", help="train a zoo model on its bundled data",
                            description="Train a zoo model. Writes runs/<model>-<time>-seed<N>/ with best.pt, "
                                        "training.json, a confusion matrix (text and PNG) and a loss curve.")
    parser.add_argument("model", choices=zoo_names())
    parser.add_argument("--seed", type=int, default=0, help="seeds split, init, batches, augmentation (default 0)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), help="default: the model's training config (adam)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the model's training config)")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--width", type=int, help="channels of the first conv layer")
    parser.add_argument("--epochs", type=int, help="maximum epochs; early stopping usually ends sooner")
    parser.add_argument("--patience", type=int, help="epochs without validation improvement before stopping")
    parser.add_argument("--search", choices=("random", "grid"), help="hyperparameter search, ranked on validation")
    parser.add_argument("--data", type=Path, help="your own training images instead of the bundled ones: a folder of "
                        "photos for denoiser, colorizer and style (split by file: ~10%% validation, ~10%% test); "
                        "a folder of images for vae (resized to 8x8 grayscale); for faceswap a folder with a/ "
                        "and b/ sub-folders of aligned face crops")
    parser.add_argument("--photos", choices=("varied", "bundled"), help="colorizer and style: the varied set "
                        "that `visionrt photos` builds (their default) or the 8 bundled photos")
    parser.add_argument("--steps", type=int, help="training steps for step-based trainers (default: the model's training config)")
    parser.add_argument("--style", type=Path, help="style: the style image (default: the shipped swirl painting)")
    parser.add_argument("--trials", type=int, help="number of search trials (default 8)")
    parser.add_argument("--runs-dir", type=Path, help="where run folders go (default runs/)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=cmd_train)


def cmd_train(args) -> int:
    from visionrt import model_zoo

    spec = model_zoo.get((model_zoo.composite(args.model) or (args.model,))[0])
    config = model_zoo.resolve(spec.train_config).from_spec(
        seed=args.seed, optimizer=args.optimizer, lr=args.lr, batch_size=args.batch_size, width=args.width,
        epochs=args.epochs, patience=args.patience, search=args.search, trials=args.trials,
        runs_dir=args.runs_dir, progress=False if args.no_progress else None, data=args.data, steps=args.steps,
        style=args.style, photos=args.photos)
    run_dir = model_zoo.resolve(spec.trainer)(config)
    print(f"checkpoint: {run_dir / 'best.pt'}")
    return 0


def add_photos(sub) -> None:
    parser = sub.add_parser("photos", help="build the varied training photos from Debian packages (a rebuild step)",
                            description="Downloads the pinned Debian packages that photo_sources.py names (about "
                                        "180 MB; apt-get download, sha256-checked, nothing installed) and writes "
                                        "their photos, scaled to a long side of 1024 px, with photos.json (kind, "
                                        "split, licence) and each package's copyright file. The colorizer and "
                                        "style train on it.")
    parser.add_argument("--dest", type=Path, help="folder (default $VISIONRT_PHOTOS or ~/.cache/visionrt/photos)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the folder is current")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=cmd_photos)


def cmd_photos(args) -> int:
    import json

    from visionrt.train import photo_fetch, photos

    dest = photo_fetch.fetch(args.dest or photos.varied_dir(), progress=not args.no_progress, force=args.force)
    rows = json.loads((dest / photo_fetch.MANIFEST).read_text())["photos"]
    counts = {part: sum(r["split"] == part for r in rows) for part in ("train", "val", "test")}
    print(f"{len(rows)} photos in {dest}: " + ", ".join(f"{n} {part}" for part, n in counts.items()))
    return 0


def add_compare(sub) -> None:
    parser = sub.add_parser("compare", help="an installed model's FP16 (or INT8) file against its FP32 file, tensor by tensor",
                            description="Marks every float tensor the two ONNX files share as an output, runs both "
                                        "on the same inputs with ONNX Runtime, and scores each tensor's FP16 values "
                                        "against FP32 (SNR, max abs error, inf/NaN) in graph order: where FP16 "
                                        "leaves FP32, and which node to keep in FP32 (export --keep-fp32).")
    parser.add_argument("model", help="zoo name or model folder")
    parser.add_argument("--inputs", type=Path, help="a .npy float32 batch to run (default: seeded standard-normal "
                        "noise, as the FP16 gate's random set)")
    parser.add_argument("--shape", type=int, nargs="+", help="noise shape, batch first (default: batch 2 at the "
                        "profile's opt size, e.g. 2 3 256 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="ONNX Runtime provider; FP16 "
                        "kernels differ per provider, so compare where you deploy (default cpu)")
    parser.add_argument("--min-snr", type=float, default=40.0, help="the bar in dB (default 40, the image gate's)")
    parser.add_argument("--precision", choices=("fp16", "int8"), default="fp16", help="the file to compare with "
                        "FP32: fp16 (default) or the gated INT8 file, whose float-kept nodes are marked")
    parser.add_argument("--keep-fp32", nargs="+", default=[], metavar="NODE_OR_OP", help="compare an FP16 "
                        "conversion made here with these also kept FP32 (as export --keep-fp32 would make it; "
                        "nothing is written) instead of the installed FP16 file")
    parser.add_argument("--out", type=Path, help="also write compare_<model>.{md,json,png} here")
    parser.set_defaults(handler=cmd_compare)


def cmd_compare(args) -> int:
    for graph in graphs(args.model):  # a folder or file is no composite: itself
        compare_graph(args, graph)
    return 0


def compare_graph(args, model: str) -> None:
    from visionrt.export import compare_report, tensor_compare

    rows, described, meta = compare_report.compare(model, args.shape, args.inputs, args.seed, args.device,
                                                 tuple(args.keep_fp32), args.precision)
    label = args.precision.upper()
    print(f"{meta.model}: {label} against FP32 on {described}, ONNX Runtime {args.device}")
    print(tensor_compare.table(rows, args.min_snr, label=label))
    print(tensor_compare.summary(rows, args.min_snr, label=label))
    if args.out:
        written = compare_report.write_report(rows, args.out, meta.model, described,
                                            args.device, args.min_snr, args.precision)
        print("wrote " + ", ".join(str(path) for path in written))


def add_bench(sub) -> None:
    parser = sub.add_parser("bench", help="time eager PyTorch against every available runtime backend",
                            description="Batch sweep with warm-up; writes JSON (raw samples), Markdown and a PNG "
                                        "plot into --out and prints the table. A model folder written as a path (a "
                                        "user's own export) is timed on seeded noise against the torch.export "
                                        "program saved beside it.")
    parser.add_argument("model", help="zoo name or model folder")
    parser.add_argument("--batches", type=int, nargs="+", help="batch sweep (default: the model's, e.g. 1 8 64)")
    parser.add_argument("--widths", type=int, nargs="*", help="width sweep at batch 1 for dynamic-width models "
                        "(default: the registry's, e.g. 32 64 128 256 for digit_reader); pass none to skip")
    parser.add_argument("--sizes", type=int, nargs="*", default=[], help="square-size sweep at batch 1 for fully "
                        "convolutional image models, e.g. 256 512 1024 (default: none; the GPU check uses the registry's)")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[], help="thread counts for a batch-1 "
                        "concurrency sweep of every host-timed row, e.g. 1 2 4 8: latency and throughput with N "
                        "threads calling one loaded model (default: none)")
    parser.add_argument("--iters", type=int, default=500, help="timed iterations per row (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed iterations per row (default 50)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to warm up)")
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=cmd_bench)


def cmd_bench(args) -> int:
    for graph in graphs(args.model):  # a folder or file is no composite: itself
        bench_graph(args, graph)
    return 0


def bench_graph(args, model: str) -> None:
    from visionrt.benchmarks import harness, report

    config = harness.BenchConfig(model=model, batches=tuple(args.batches) if args.batches else None, iters=args.iters,
                                 warmup=args.warmup, device=args.device, out=args.out, compile=args.compile,
                                 widths=None if args.widths is None else tuple(args.widths),
                                 sizes=tuple(args.sizes), concurrency=tuple(args.concurrency),
                                 progress=not args.no_progress)
    result = harness.run(config)
    print(f"{result['model']}: {result['eager_source']}")
    print(report.terminal(result))
    print(f"wrote {args.out}/bench_{result['model']}.{{json,md,png}} (every column, cold start, overhead)")


def add_zoo(sub) -> None:
    parser = sub.add_parser("zoo", help="list the zoo (default) or rebuild a model from scratch",
                            description="`visionrt zoo` lists models with metrics read from their artifacts; "
                                        "`visionrt zoo rebuild MODEL` retrains (seeded) and re-exports it.")
    zoo_sub = parser.add_subparsers(dest="zoo_command")
    zoo_sub.add_parser("list", help="models, metrics and parity from the artifacts, and this machine's backends")
    rebuild = zoo_sub.add_parser("rebuild", help="train with the model's defaults, export, write samples")
    rebuild.add_argument("model", choices=zoo_names(),
                         help="vae and faceswap retrain and install both of their graphs")
    rebuild.add_argument("--seed", type=int, default=0)
    rebuild.add_argument("--runs-dir", type=Path, default=Path("runs"))
    card = zoo_sub.add_parser("card", help="regenerate MODEL_CARD.md for an installed model")
    card.add_argument("model", choices=zoo_names(), help="vae and faceswap: the cards of both graphs")
    parser.set_defaults(handler=cmd_zoo)


def cmd_zoo(args) -> int:
    from visionrt import zoo_listing as listing

    if args.zoo_command == "rebuild":
        for report in listing.rebuild(args.model, args.seed, args.runs_dir):
            print_export_report(report, listing.model_zoo.repository_path())
    elif args.zoo_command == "card":
        for graph in graphs(args.model):
            print(f"wrote {listing.write_card(graph)}")
    else:
        print(listing.table())
    return 0


def add_engines(sub) -> None:
    parser = sub.add_parser("engines", help="list the TensorRT engine cache; --prune deletes what can never be served",
                            description="Lists every cached TensorRT engine with what it was built for, and marks "
                                        "it stale when it can never be served: a missing or corrupt file, an ONNX "
                                        "file no longer installed in the repository (re-exported since), or, where "
                                        "TensorRT and a GPU are here, another TensorRT version, GPU or platform.")
    parser.add_argument("--engine-cache", type=Path, help="cache folder (default $VISIONRT_ENGINE_CACHE or "
                        "~/.cache/visionrt/engines)")
    parser.add_argument("--repository", type=Path, help="model repository whose ONNX files count as installed "
                        "(default: the shipped zoo)")
    parser.add_argument("--prune", action="store_true", help="delete the stale entries")
    parser.set_defaults(handler=cmd_engines)


def cmd_engines(args) -> int:
    from visionrt import model_zoo
    from visionrt.runtime import engine_listing
    from visionrt.runtime.engine_cache import EngineCache

    cache, repository = EngineCache(args.engine_cache), args.repository or model_zoo.repository_path()
    machine, checked = engine_listing.this_machine()
    entries = cache.entries(engine_listing.installed_onnx(repository), machine)
    print(f"{cache.root}: {len(entries)} engines; ONNX files checked against {repository}; {checked}")
    for entry in entries:
        print(engine_listing.describe(entry))
    folders = engine_listing.provider_caches(cache.root, engine_listing.current_provider_cache())
    for folder in folders:
        print(engine_listing.describe_provider_cache(folder))
    stale = sum(1 for e in entries if e.problems) + sum(1 for f in folders if f.stale)
    if args.prune:
        print(engine_listing.prune(cache, entries, folders))
    elif stale:
        print(f"{stale} stale; `visionrt engines --prune` deletes them")
    return 0


def add_tune(sub) -> None:
    parser = sub.add_parser("tune", help="measure which CPU backend runs each model fastest here; auto then uses it",
                            description="Time every available CPU backend (ONNX Runtime, OpenVINO) on each model's "
                                        "FP32 file and gated INT8 file, interleaved, at batch 1 and the profile's tuning size, and record "
                                        "the winner for this CPU, these library versions and this file. "
                                        "runtime.load(backend='auto') then uses it and says so in its reasons.")
    parser.add_argument("models", nargs="*", help="zoo models or model folders (default: every installed zoo model)")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per model, all backends together (default 3)")
    parser.set_defaults(handler=cmd_tune)


def cmd_tune(args) -> int:
    from visionrt import model_zoo
    from visionrt.errors import UserInputError
    from visionrt.runtime import tuning

    from visionrt.runtime import source

    asked = [part for name in args.models for part in (model_zoo.composite(name) or (name,))]
    names = asked or [name for name in model_zoo.names() if model_zoo.installed(name)]
    unknown = [name for name in names if not source.written_as_path(name) and not model_zoo.installed(name)]
    if unknown:
        raise UserInputError(f"not installed in the zoo: {', '.join(unknown)}; tune takes {', '.join(model_zoo.names())} "
                             "or a model folder written as a path")
    if args.seconds <= 0:
        raise UserInputError(f"--seconds must be above 0, got {args.seconds}")
    print(f"tuning {len(names)} model(s) on {tuning.cpu_name()}, about {args.seconds:g} s each; "
          f"records go to {tuning.records_path()}", flush=True)
    for index, name in enumerate(names, start=1):
        record = tuning.tune(name, args.seconds)
        times = ", ".join(f"{tuning.label(t.target, t.options)} {t.p50_ms:.3g} ms (spread {t.spread:.0%})"
                          for t in sorted(record.timings, key=lambda t: t.p50_ms))
        print(f"[{index}/{len(names)}] {name} at {'x'.join(map(str, record.shape))}: "
              f"{tuning.label(record.winner, record.options)} ({times})", flush=True)
        for combination, why in (record.refused or {}).items():
            print(f"    not timed: {combination}: {why.splitlines()[0][:160]}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    import visionrt

    parser = argparse.ArgumentParser(prog="visionrt", description="Vision models from PyTorch to fast, verified "
                                     "ONNX artifacts and a torch-free runtime.")
    parser.add_argument("--version", action="version", version=f"visionrt {visionrt.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_train, add_photos, add_export, add_compare, add_run, add_bench, add_tune, add_zoo, add_engines, add_serve, add_bench_serve):
        add(sub)
    return parser


def quiet_engines() -> None:
    """ONNX Runtime prints its own error lines before raising; visionrt explains the error itself, once."""
    try:
        import onnxruntime

        onnxruntime.set_default_logger_severity(4)
    except ImportError:
        pass


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "verbose", False):
        quiet_engines()
    try:
        return args.handler(args)
    except VisionRTError as exc:
        print(f"visionrt {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
