"""`visionrt zoo`: what the zoo holds, read from the artifacts themselves, and how to rebuild it."""

from pathlib import Path

from visionrt import artifact, model_zoo


def describe_artifacts() -> list[dict]:
    """One entry per registered model: its metrics and parity as the FP32/FP16 ONNX metadata records them."""
    from visionrt import runtime

    found = []
    for name in model_zoo.names():
        spec = model_zoo.get(name)
        entry = {"model": name, "task": spec.task, "summary": spec.summary, "installed": False}
        if model_zoo.installed(name):
            files = runtime.source.resolve(model_zoo.model_dir(name)).files
            fp32, fp16 = (artifact.read(files[precision]).metadata for precision in ("fp32", "fp16"))
            entry.update(installed=True, metrics=fp32.metrics, parity_fp32=fp32.parity, parity_fp16=fp16.parity,
                         exported_at=fp32.provenance.get("exported_at"))
        found.append(entry)
    return found


HEADLINE_METRICS = {"accuracy": "test accuracy", "sequence_accuracy": "sequence accuracy",
                    "character_error_rate": "CER", "denoised_psnr_db": "PSNR dB",
                    "gain_over_noisy_db": "gain over noisy dB", "gain_over_best_filter_db": "gain over best filter dB",
                    "gain_over_gray_db": "gain over gray dB", "colorfulness_ratio": "colourfulness / truth",
                    "neg_elbo_nats": "test -ELBO nats", "gap_closed": "Gram gap closed (judge net)",
                    "luminance_ssim": "luminance SSIM"}
NESTED_HEADLINES = {"a_to_b": "A to B", "b_to_a": "B to A"}  # face swap: per direction


def _worst(parity: dict, figure: str, reduce=max):
    sets = next(iter(parity.values()), {}).get("sets", {})
    values = [figures[figure] for figures in sets.values() if figure in figures]
    return reduce(values) if values else None


def _headline(metrics: dict) -> str:
    parts = [f"{label} {metrics[key]:.4f}" for key, label in HEADLINE_METRICS.items() if key in metrics]
    parts += [f"{label}: swap {metrics[key]['swap_psnr_db']:.2f} dB, +{metrics[key]['gain_over_copy_db']:.2f} dB over copy"
              for key, label in NESTED_HEADLINES.items() if key in metrics]
    return ", ".join(parts)


def table() -> str:
    from visionrt import runtime

    lines = [f"model repository: {model_zoo.repository_path()}", "",
             "| model | task | held-out metrics | FP32 vs PyTorch max abs err | FP16 vs FP32 (worst set) | exported |",
             "|---|---|---|---|---|---|"]
    for entry in describe_artifacts():
        if not entry["installed"]:
            lines.append(f"| {entry['model']} | {entry['task']} | not installed | | | |")
            continue
        fp32_err = _worst(entry["parity_fp32"], "max_abs_error")
        agreement = _worst(entry["parity_fp16"], "top1_agreement", min)
        psnr = _worst(entry["parity_fp16"], "psnr_db", min)
        fp16 = f"top-1 agreement {agreement:.4f}" if agreement is not None else f"PSNR {psnr:.1f} dB"
        lines.append(f"| {entry['model']} | {entry['task']} | {_headline(entry['metrics'])} | {fp32_err:.2e} | "
                     f"{fp16} | {entry['exported_at']} |")
    lines += ["", "backends on this machine:"]
    lines += [f"  {'yes' if t.available else 'no '}  {t.name:22s} {t.reason}" for t in runtime.available_backends()]
    return "\n".join(lines)


def rebuild(name: str, seed: int, runs_dir: Path) -> list[dict]:
    """Retrain ``name`` (or a composite such as "vae") with its training config's defaults and ``seed``, then install
    every graph the run produced; return their export reports."""
    parts = model_zoo.composite(name) or (name,)
    spec = model_zoo.get(parts[0])
    config = model_zoo.resolve(spec.train_config).from_spec(seed=seed, runs_dir=runs_dir)
    return install_run(model_zoo.resolve(spec.trainer)(config))


def install_run(run_dir: Path) -> list[dict]:
    """Export each checkpoint of a run folder into the zoo with its pictures, samples and model card."""
    import shutil

    from visionrt.export import export_checkpoint
    from visionrt.train import checkpoint

    reports = []
    for weights in sorted(run_dir.glob("*.pt")):
        payload = checkpoint.load(weights)
        name = payload["model"]
        reports.append(export_checkpoint(weights))
        for picture in RUN_FILES:
            if (run_dir / picture).is_file():
                shutil.copyfile(run_dir / picture, model_zoo.model_dir(name) / picture)
        model_zoo.resolve(model_zoo.get(name).samples)(payload, model_zoo.samples_dir(name))
    for report in reports:  # cards last: a card may measure through the runtime with every graph installed
        write_card(report["model"])
    return reports


RUN_FILES = ("confusion_matrix.png", "loss_curve.png", "readings.png", "before_after.png", "samples.png",
             "tradeoff.png", "interpolation.png", "training.json")


def write_card(name: str) -> Path:
    """(Re)generate MODEL_CARD.md for an installed model, measuring its baselines where it has any."""
    from visionrt.export import card
    from visionrt.train import checkpoint

    spec = model_zoo.get(name)
    payload = checkpoint.load(model_zoo.model_dir(name) / "weights.pt")
    found = model_zoo.resolve(spec.baselines)(payload) if spec.baselines else None
    return card.write_card(name, found)
