"""Model cards: Markdown generated from an installed artifact (its ONNX metadata and export report) plus
the parameter and multiply-accumulate counts of its torch definition."""

import json
from pathlib import Path

from visionrt import artifact, atomic, model_zoo

BEFORE_AFTER = {"denoiser": "A held-out photo: noisy input, denoised, clean",
                "colorizer": "Held-out photos, a portrait first: lightness input, colorized, original",
                "style": "Held-out photos, a portrait first: content, the network's stylization, per-image "
                         "optimisation, style image",
                "faceswap_to_a": "Unseen parameter draws: source face, swapped, ground-truth render",
                "faceswap_to_b": "Unseen parameter draws: source face, swapped, ground-truth render"}
PICTURES = (("before_after.png", "Before and after"),
            ("samples.png", "Samples from the prior, decoded"),
            ("interpolation.png", "Latent interpolation between test digits"),
            ("readings.png", "Test strings and what the reader read (green: right, red: wrong)"),
            ("confusion_matrix.png", "Confusion matrix on the test split"),
            ("tradeoff.png", "Validation trade-off the training weight and step were chosen on"),
            ("loss_curve.png", "Training curves"))


def count_macs(model, example) -> int:
    """Multiply-accumulates of Conv2d, Linear and LSTM layers for one forward pass of ``example``."""
    import torch

    total = 0

    def conv(module, inputs, output):
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += output.numel() * kernel

    def linear(module, inputs, output):
        nonlocal total
        total += output.numel() * module.in_features

    def lstm(module, inputs, output):
        nonlocal total
        steps = inputs[0].shape[0] * inputs[0].shape[1]  # batch x time
        per_step = 4 * module.hidden_size * (module.input_size + module.hidden_size)
        total += steps * per_step * (2 if module.bidirectional else 1)

    hooks = []
    for module in model.modules():
        hook = {torch.nn.Conv2d: conv, torch.nn.Linear: linear, torch.nn.LSTM: lstm}.get(type(module))
        if hook:
            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(example)
    for hook in hooks:
        hook.remove()
    return total


def parity_rows(parity: dict) -> list[str]:
    rows = []
    for check, result in parity.items():
        for name, figures in result["sets"].items():
            agreement, psnr = figures.get("top1_agreement"), figures.get("psnr_db")
            samples, error = figures.get("samples", "-"), figures.get("max_abs_error")
            rows.append(f"| {check} | {name} | {samples} | {'-' if error is None else f'{error:.2e}'} | "
                        f"{'-' if agreement is None else f'{agreement:.4f}'} | {'-' if psnr is None else f'{psnr:.1f}'} |")
    return rows


def _training_line(config: dict) -> str:
    """What the checkpoint recorded about its training; fields an older trainer did not record are left out."""
    parts = [f"{label} {config[key]}" for label, key in (("optimizer", "optimizer"), ("lr", "lr"), ("batch", "batch_size"),
                                                          ("best step", "best_step"), ("best epoch", "best_epoch"))
             if config.get(key) is not None]
    if config.get("train_seconds") is not None:
        parts.append(f"{config['train_seconds']} s on the training machine's CPU")
    return "- " + ", ".join(parts)


def write_card(name: str, baselines: dict | None = None) -> Path:
    import torch

    from visionrt import runtime
    from visionrt.train import checkpoint

    spec, folder = model_zoo.get(name), model_zoo.model_dir(name)
    meta = artifact.read(runtime.source.resolve(folder).files["fp32"]).metadata
    report = json.loads((folder / "export_report.json").read_text())
    payload = checkpoint.load(folder / "weights.pt")
    model = checkpoint.build_model(payload)
    shape = [64 if d is None else d for d in spec.input_shape]
    macs = count_macs(model, torch.zeros(1, *shape))
    parameters = sum(p.numel() for p in model.parameters())
    config, data = meta.training.get("config") or {}, meta.training.get("data") or {}
    metrics = {k: v for k, v in meta.metrics.items() if not isinstance(v, (dict, list))}
    lines = [
        f"# {name}", "", spec.summary, "",
        "## Data", f"- {data.get('source')}, seed {data.get('seed')}",
        f"- details: `{json.dumps({k: v for k, v in data.items() if k not in ('source', 'seed', 'kinds')})}`",
        "", "## Architecture",
        f"- `{spec.architecture}` with `{json.dumps(payload['arch_kwargs'])}`",
        f"- {parameters:,} parameters; {macs / 1e6:.2f} M multiply-accumulates per image at input {shape}",
        f"- input `{spec.input_name}` {meta.input.layout} {list(meta.input.shape)} (None: dynamic), "
        f"outputs {', '.join(f'`{o}`' for o in spec.output_names)}",
        f"- preprocessing: `{json.dumps(meta.preprocessing.to_dict())}`",
        "", "## Held-out metrics (test split, measured once after training)", "| metric | value |", "|---|---|",
        *[f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in metrics.items()],
    ]
    lines += kind_table(meta.metrics.get("by_kind"))
    nested = {k: v for k, v in meta.metrics.items() if isinstance(v, dict) and k != "by_kind"}
    for key, value in nested.items():
        lines += ["", f"### {key.replace('_', ' ')}", "```json", json.dumps(value, indent=1), "```"]
    if baselines:
        lines += ["", "## Baselines and bars (same split, measured when the card was written)", "| figure | value |", "|---|---|",
                  *[f"| {k} | {v:.4f} |" for k, v in baselines.items()]]
    lines += ["", "## Parity", "| check | input set | samples | max abs error | top-1 agreement | PSNR dB |",
              "|---|---|---|---|---|---|",
              *parity_rows(report["parity"]),
              "", f"Kept in FP32 in the FP16 variant: {', '.join(report['fp32_nodes_in_fp16']) or 'nothing'}.",
              *gated_precision_lines(report["parity"]),
              "", "## Training",
              _training_line(config),
              "- exported {exported_at} with {exporter} (opset {opset}), torch {torch_version}, visionrt "
              "{visionrt_version}".format(**meta.provenance),
              "- artifact sizes: " + ", ".join(f"{k} {v['bytes'] / 1e6:.2f} MB" for k, v in report["files"].items()),
              "", "## Known limits", *[f"- {limit}" for limit in KNOWN_LIMITS.get(name, [])], ""]
    captions = {**dict(PICTURES), "before_after.png": BEFORE_AFTER.get(name, "Before and after")}
    lines += [f"![{captions[picture]}]({picture})\n" for picture, _ in PICTURES if (folder / picture).is_file()]
    return atomic.write_text(folder / "MODEL_CARD.md", "\n".join(lines))


def kind_table(by_kind: dict | None) -> list[str]:
    """Held-out figures per kind of photo (people, objects, ...), where the training data had kinds."""
    if not by_kind:
        return []
    keys = [k for k in next(iter(by_kind.values())) if k != "photos"]
    return ["", "### By kind of photo (test split means)", f"| kind | photos | {' | '.join(keys)} |",
            "|---|---|" + "---|" * len(keys),
            *[f"| {kind} | {row['photos']} | " + " | ".join(f"{row[k]:.3f}" for k in keys) + " |"
              for kind, row in by_kind.items()]]


def gated_precision_lines(parity: dict) -> list[str]:
    """Each precision's task-level gate, where its task has one (the user's figure, not only tensor agreement),
    and where BF16, which has no file of its own, was measured."""
    lines = []
    for precision in ("int8", "bf16"):
        task = parity.get(f"{precision}_vs_fp32", {}).get("task")
        if task:
            lines += ["", f"{precision.upper()} at the task level: {task['metric']} {task[precision]} against FP32's "
                          f"{task['fp32']} on held-out data (bar: {task['bar']}): {'passed' if task['passed'] else 'NOT met'}."]
    bf16 = parity.get("bf16_vs_fp32")
    if bf16:
        lines += ["", f"BF16 is OpenVINO computing model.onnx in BF16 (no file of its own; `load(..., backend='openvino', "
                      f"precision='bf16')`): gate {'passed' if bf16['passed'] else 'NOT met'}, measured on "
                      f"{bf16['measured_on']} with {bf16['engine']}."]
    return lines


_FACESWAP_LIMITS = [
    "Trained and measured on a procedural face renderer (two drawn identities): nothing here says how it does on "
    "real faces; `visionrt train faceswap --data DIR` trains on real crops (without masks there, so the swap then "
    "replaces the whole crop).",
    "Inputs are resized to 64x64; faces should be aligned and centred as in the renderer.",
    "The decoder draws the face and its mask; outside the mask the input is kept, as faceswap's converter does. "
    "Expression details (eyes, mouth) come out soft: the gain over copying is in face shape, skin, hair, lighting.",
]

KNOWN_LIMITS = {
    "faceswap_to_a": [*_FACESWAP_LIMITS,
                      "B's face is taller than A's: swapping B to A keeps the parts of B's face that lie outside A's "
                      "drawn mask (what was behind them is unknown), so even a perfect drawing with a perfect mask "
                      "scores at most 20.5 dB against the true render here (+8.2 dB over copying)."],
    "faceswap_to_b": list(_FACESWAP_LIMITS),
    "style": ["The loss network is a fixed random conv net (no pretrained VGG can be downloaded here): colour, "
              "texture and stroke statistics transfer, not object-aware stylization; a VGG-trained Johnson network "
              "would look more painterly.",
              "Trained on crops of the varied set's 71 training photos at a long side of 512 px: the stroke size is "
              "fixed in pixels, so very large images look finer-grained; downscale first for bolder strokes.",
              "It restyles smooth pictures least: on the held-out portraits and man-made objects it closes 0.15 and "
              "0.26 of the Gram gap, against about 0.5 on landscapes, indoor scenes and nature (the random-feature "
              "loss transfers texture, and smooth regions carry little); the bars are not met on every photo.",
              "The style image is procedural (model_zoo/styles/swirls.png, provenance in its .json): `visionrt train "
              "style --style PATH` trains towards another."],
    "colorizer": ["Trained to estimate the mean colour, so it colours cautiously: on the 13 held-out photos it adds "
                  "0.65 dB over gray on average but keeps only 0.18 of the truth's colourfulness (bar 0.5), and on "
                  "photos whose colours training saw little (a blue-green sea, a portrait) it is still slightly "
                  "worse than gray (landscapes -0.66 dB, people -0.05 dB).",
                  "Colour inputs are reduced to their lightness first; ab is predicted at 256 pixels on the long "
                  "side and upsampled, the original lightness is kept at full resolution."],
    "vae_encoder": ["One half of the VAE; load both with runtime.load(\"vae\").",
                    "8x8 digits only; other images are squeezed to 8x8 and encoded as the nearest digit-like shape."],
    "vae_decoder": ["One half of the VAE; load both with runtime.load(\"vae\").",
                    "Samples are 8x8 and as blurry as a VAE's mean decoding; a few are ambiguous between digits."],
    "denoiser": ["Trained on additive Gaussian noise of sigma 0.1 (25/255); other noise (JPEG blocks, sensor "
                 "noise that depends on brightness, much stronger noise) is removed less well.",
                 "Trained on six photos; textures unlike them may be smoothed.",
                 "Skip connections carry full-resolution detail past the bottleneck, so the bottleneck ratio "
                 "below is no measure of compression: this is a denoiser, not a codec."],
    "digits": ["Trained on scikit-learn's 8x8 digits (about 40 writers): other handwriting, stroke widths or "
               "framing may be read worse; crop a single digit tightly before classify().",
               "Images are read as dark ink on a light background; invert light-on-dark images first."],
    "digit_reader": ["Strings are synthetic: scikit-learn digits placed side by side; real handwriting with "
                     "joined strokes, slant or touching digits was never seen.",
                     "Input is scaled to 16 pixels high; crop the text line tightly (little margin above and below).",
                     "Only the digits 0-9; no separators, letters or spaces."],
}
