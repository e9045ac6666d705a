"""The model card of a user's model: what it is, what was checked and how it can be reproduced, from the export
job and its report alone (no registry entry, no training record)."""

import json

from visionrt.export.card import count_macs, parity_rows


def card_text(job, report: dict) -> str:
    meta = job.base
    lines = [f"# {meta.model}", "", meta.summary or "A model brought to visionrt (no summary given).", "",
             "## Source", *[f"- {key}: `{value}`" for key, value in report["source"].items()], *size_lines(job), "",
             "## Interface",
             f"- input `{meta.input.name}` {meta.input.layout} {list(meta.input.shape)} after the batch axis "
             f"(None: dynamic), batch 1 to {meta.max_batch_size}",
             f"- dynamic ranges [min, opt, max]: `{json.dumps({str(k): list(v) for k, v in meta.dynamic_ranges.items()})}`",
             f"- outputs: {', '.join(f'`{name}`' for name in meta.outputs)}",
             f"- task: {meta.task or 'none: a tensor model, served by run()'}",
             *([f"- preprocessing: `{json.dumps(meta.preprocessing.to_dict())}`"] if meta.preprocessing else []),
             *([f"- labels: {len(meta.labels)} ({', '.join(meta.labels[:10])}{', ...' if len(meta.labels) > 10 else ''})"]
               if meta.labels else []),
             "", "## Parity (checked at export)",
             f"- input shapes checked: {', '.join('x'.join(map(str, s)) for s in report['checked_shapes'])} "
             "(the dynamic ranges' min, opt and max)",
             "| check | input set | samples | max abs error | top-1 agreement | PSNR dB |", "|---|---|---|---|---|---|",
             *parity_rows({k: v for k, v in report["parity"].items() if "tolerance" in v}),
             *(["", f"Kept in FP32 in the FP16 file: {', '.join(report['fp32_nodes_in_fp16']) or 'nothing'}."]
               if report["fp32_nodes_in_fp16"] is not None else ["", "No FP16 file was made."]),
             *int8_lines(report), "", "## Files",
             *[f"- `{name}`: {entry['bytes'] / 1e6:.2f} MB, sha256 {entry['sha256'][:16]}" for name, entry in
               report["files"].items()],
             "", "## Known limits",
             "- Parity says the artifact computes what the source computes; it says nothing about the model's own "
             "accuracy, which only the user's data can show.",
             *(["- Random inputs only: pass real_inputs= to gate on the user's own data (top-1 agreement for "
                "classifiers)."] if not any(key.startswith("real") for key in job.sets) else []), ""]
    return "\n".join(lines)


def size_lines(job) -> list[str]:
    """Parameters and multiply-accumulates of the source module at the example's shape, where there is one."""
    if job.model is None:
        return []
    parameters = sum(p.numel() for p in job.model.parameters())
    macs = count_macs(job.model, job.example[:1])
    return [f"- {parameters:,} parameters; {macs / 1e6:.2f} M multiply-accumulates (Conv2d, Linear, LSTM) per "
            f"input at {list(job.example.shape[1:])}"]


def int8_lines(report: dict) -> list[str]:
    gate = report["parity"].get("int8_vs_fp32")
    if not gate:
        return []
    return ["", f"INT8 file: {gate['calibration']} calibration, against FP32 on the real inputs "
                f"`{json.dumps(gate['sets'])}` (bars: top-1 agreement >= {gate['bars']['top1_agreement']}, "
                f"PSNR >= {gate['bars']['psnr_db']} dB); kept float: {len(report['float_nodes_in_int8'])} node(s)."]
