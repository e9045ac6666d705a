"""Models no one here wrote, through the bring-your-own-model path: MONAI's architectures (built without
pretrained weights) exported by ``export_model`` with a dynamic batch and spatial size, then benchmarked by the
harness against eager PyTorch rebuilt from the saved program.

    python -m visionrt.benchmarks.byo_models OUT [--iters 30]

Writes ``OUT/byo_models.{json,md,png}`` (one row per architecture: exported or why not, parity, FP16 figures,
speed against eager) and each model's own bench report under ``OUT/<name>/``. An architecture that cannot be
exported is a row too, with the error export_model raised.
"""

import argparse
import json
import time
from pathlib import Path

from visionrt import atomic
from visionrt.benchmarks import environment
from visionrt.errors import VisionRTError

# name -> (what it exercises, builder, example shape, dynamic axes)
ARCHITECTURES = {
    "resnet18": ("batch norm, residual blocks",
                 lambda nets: nets.resnet18(spatial_dims=2, n_input_channels=3, num_classes=1000), (1, 3, 128, 128),
                 [0, 2, 3]),
    "efficientnet_b0": ("depthwise convolutions, swish, squeeze-and-excitation",
                        lambda nets: nets.EfficientNetBN("efficientnet-b0", pretrained=False, spatial_dims=2,
                                                         num_classes=1000), (1, 3, 128, 128), [0, 2, 3]),
    "basic_unet": ("encoder-decoder: pooling, transposed convolutions, skips, instance norm",
                   lambda nets: nets.BasicUNet(spatial_dims=2, in_channels=3, out_channels=2), (1, 3, 128, 128),
                   [0, 2, 3]),
    "segresnet": ("encoder-decoder: group norm, residual blocks, trilinear upsampling",
                  lambda nets: nets.SegResNet(spatial_dims=2, in_channels=3, out_channels=2), (1, 3, 128, 128),
                  [0, 2, 3]),
    "densenet121": ("dense connectivity, batch norm",
                    lambda nets: nets.DenseNet121(spatial_dims=2, in_channels=3, out_channels=1000), (1, 3, 128, 128),
                    [0, 2, 3]),
    "vit_tiny16": ("attention, patch embedding with fixed positions (batch axis only); its logits only",
                   lambda nets: logits(nets.ViT(in_channels=3, img_size=(128, 128), patch_size=(16, 16), spatial_dims=2,
                                         hidden_size=192, mlp_dim=768, num_layers=6, num_heads=3,
                                         classification=True, num_classes=1000, post_activation=None)),
                (1, 3, 128, 128), [0]),
    "swin_unetr": ("window attention encoder-decoder",
                   lambda nets: nets.SwinUNETR(in_channels=3, out_channels=2, spatial_dims=2, feature_size=12),
                   (1, 3, 128, 128), [0, 2, 3]),
    "swin_unetr_fixed": ("the same at its example's size (batch axis only)",
                         lambda nets: nets.SwinUNETR(in_channels=3, out_channels=2, spatial_dims=2, feature_size=12),
                         (1, 3, 128, 128), [0]),
}


def logits(model):
    """MONAI's ViT returns (logits, every block's hidden states); export_model takes tensors, so keep the first."""
    import torch

    class FirstOutput(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x)[0]

    return FirstOutput()


def settle(model, shape, torch) -> None:
    """Batch-norm statistics measured on noise, so that activations keep their scale through a deep random net
    (freshly initialized running statistics would pass what a real network never sees)."""
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, *shape[1:]))
    model.eval()


def export_one(name: str, repository: Path) -> dict:
    import torch
    from monai.networks import nets

    from visionrt.export import export_model

    what, build, shape, dynamic = ARCHITECTURES[name]
    row = {"model": name, "exercises": what, "example": list(shape), "dynamic_axes": dynamic}
    torch.manual_seed(0)
    try:
        model = build(nets)
    except ImportError as exc:  # MONAI's optional dependencies (einops for its transformers)
        return {**row, "exported": False, "error": f"not built: {str(exc).splitlines()[0][:300]}", "seconds": 0}
    settle(model, shape, torch)
    row["parameters"] = sum(p.numel() for p in model.parameters())
    started = time.perf_counter()
    try:
        report = export_model(model, {"image": torch.rand(*shape)}, name=name, repository=repository,
                              dynamic={"image": dynamic}, max_batch_size=8)
    except VisionRTError as exc:
        return {**row, "exported": False, "error": f"{type(exc).__name__}: {str(exc)[:400]}",
                "seconds": round(time.perf_counter() - started, 1)}
    fp32 = report["parity"]["fp32_vs_pytorch"]["sets"].values()
    fp16 = list(report["parity"]["fp16_vs_fp32"]["sets"].values())
    return {**row, "exported": True, "seconds": report["seconds"], "checked_shapes": report["checked_shapes"],
            "fp32_max_abs_error": max(f["max_abs_error"] for f in fp32),
            "fp16_min_psnr_db": min((f["psnr_db"] for f in fp16 if "psnr_db" in f), default=None),
            "fp16_min_top1_agreement": min((f["top1_agreement"] for f in fp16 if "top1_agreement" in f), default=None),
            "fp16_max_abs_error": max(f["max_abs_error"] for f in fp16),
            "onnx_mb": report["files"]["model.onnx"]["bytes"] / 1e6}


def bench_one(row: dict, repository: Path, out: Path, iters: int) -> dict:
    from visionrt.benchmarks import harness

    result = harness.run(harness.BenchConfig(model=str(repository / row["model"]), batches=(1, 4), iters=iters,
                                             warmup=max(2, iters // 10), device="cpu", out=out / row["model"],
                                             progress=False))
    speed = {}
    for r in result["rows"]:
        if r["timing"] == "host" and r["sweep"] == "batch":
            speed[f"{r['name']} {r['backend']} {r['precision']} b{r['batch']}"] = {
                "p50_ms": r["p50_ms"], "speedup_vs_eager_fp32": r["speedup_vs_eager_fp32"]}
    return {**row, "speed": speed}


def markdown(rows: list[dict], env: dict) -> str:
    lines = [f"# Models no one here wrote, through export_model ({env['cpu']}, {env['cpu_count']} cores)", "",
             "MONAI architectures, seeded random weights (batch-norm statistics measured on noise), exported with a "
             "dynamic batch (and height and width where the architecture allows), gated at the ranges' min, opt "
             "and max. Speed: p50 ms at batch 1 and 4 on seeded noise, against eager PyTorch from the saved "
             "torch.export program (harness, rows one after another).", "",
             "| model | exercises | exported | fp32 max abs err vs eager | fp16 (min PSNR dB / min top-1) | "
             "eager b1 ms | best visionrt b1 ms (row) | speedup b1 | eager b4 ms | best b4 ms (row) | speedup b4 |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if not row["exported"]:
            lines.append(f"| {row['model']} | {row['exercises']} | no: {row['error'][:160]} | | | | | | | | |")
            continue
        cells = [row["model"], row["exercises"], f"yes ({row['seconds']:.0f} s)", f"{row['fp32_max_abs_error']:.2e}",
                 f"{row['fp16_min_psnr_db'] or '-':.4} / {row['fp16_min_top1_agreement'] or '-'}"]
        for batch in (1, 4):
            eager = row["speed"].get(f"pytorch-eager pytorch fp32 b{batch}", {}).get("p50_ms")
            ours = {k: v for k, v in row["speed"].items() if k.startswith("visionrt ") and k.endswith(f" b{batch}")}
            best = min(ours, key=lambda k: ours[k]["p50_ms"]) if ours else None
            cells += [f"{eager:.3g}" if eager else "-",
                      f"{ours[best]['p50_ms']:.3g} ({best.removeprefix('visionrt ').removesuffix(f' b{batch}')})"
                      if best else "-",
                      f"{ours[best]['speedup_vs_eager_fp32']:.2f}x" if best and ours[best]["speedup_vs_eager_fp32"]
                      else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], env: dict, path: Path) -> None:
    from visionrt.figures import pyplot, save_figure

    plt = pyplot()
    done = [row for row in rows if row["exported"]]
    figure, axis = plt.subplots(figsize=(9, 4))
    labels = sorted({k.rsplit(" b", 1)[0] for row in done for k in row["speed"] if k.startswith("visionrt ")})
    width = 0.8 / max(1, len(labels))
    for index, label in enumerate(labels):
        values = [row["speed"].get(f"{label} b1", {}).get("speedup_vs_eager_fp32") or 0 for row in done]
        axis.bar([i + index * width for i in range(len(done))], values, width, label=label.removeprefix("visionrt "))
    axis.axhline(1.0, color="black", linewidth=0.8)
    axis.set_xticks([i + 0.4 - width / 2 for i in range(len(done))], [row["model"] for row in done])
    axis.set_ylabel("speedup over eager PyTorch FP32, batch 1")
    axis.set_title(f"MONAI architectures through export_model, 128x128 ({env['cpu']}, {env['cpu_count']} cores)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    save_figure(figure, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--models", nargs="*", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    parser.add_argument("--repository", type=Path, help="where the exported folders go (default OUT/repository; "
                        "they are tens of MB each)")
    args = parser.parse_args(argv)
    repository = args.repository or args.out / "repository"
    env, rows = environment.fingerprint(), earlier_rows(args.out)
    for index, name in enumerate(args.models, start=1):
        print(f"[{index}/{len(args.models)}] {name}: exporting", flush=True)
        row = export_one(name, repository)
        if row["exported"]:
            print(f"    benchmarking ({args.iters} iterations a row)", flush=True)
            row = bench_one(row, repository, args.out, args.iters)
        else:
            print(f"    not exported: {row['error'][:200]}", flush=True)
        rows[name] = row
        write(list(rows.values()), env, args.out)  # after each model: a late failure keeps the earlier rows
    print(markdown(list(rows.values()), env))
    return 0


def earlier_rows(out: Path) -> dict[str, dict]:
    """The rows of an earlier run into ``out``, by model, so that one architecture can be measured again alone."""
    path = out / "byo_models.json"
    return {row["model"]: row for row in json.loads(path.read_text())["rows"]} if path.is_file() else {}


def write(rows: list[dict], env: dict, out: Path) -> None:
    atomic.write_text(out / "byo_models.json", json.dumps({"environment": env, "rows": rows}, indent=1))
    atomic.write_text(out / "byo_models.md", markdown(rows, env))
    plot(rows, env, out / "byo_models.png")


if __name__ == "__main__":
    raise SystemExit(main())
