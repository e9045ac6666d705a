"""Where each zoo graph spends its time on ONNX Runtime's CPU provider, by op type, from its node profiler:
the check that found the colorizer's channel softmax taking 82% of its time, run over every model.

    python -m visionrt.benchmarks.op_profile OUT [--calls 20]

A graph whose time is not in its convolutions and matrix products is the sign of a trap of that kind.
"""

import argparse
import json
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from visionrt import atomic, model_zoo
from visionrt.benchmarks import environment

SHAPES = {"digits": (1, 1, 8, 8), "digit_reader": (1, 1, 16, 512), "denoiser": (1, 3, 256, 256),
          "colorizer": (1, 1, 256, 256), "style": (1, 3, 256, 256), "faceswap_to_b": (1, 3, 64, 64),
          "faceswap_to_a": (1, 3, 64, 64), "vae_encoder": (1, 1, 8, 8), "vae_decoder": (1, 8)}
ARITHMETIC = {"Conv", "FusedConv", "NchwcConv", "MatMul", "FusedMatMul", "Gemm", "FusedGemm", "LSTM", "ConvTranspose"}


def profile(model: str, calls: int) -> dict:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as folder:
        options.profile_file_prefix = str(Path(folder) / model)
        path = model_zoo.model_dir(model) / "1" / "model.onnx"
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: np.random.default_rng(0).random(SHAPES[model], dtype=np.float32)}
        for _ in range(calls):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    by_op = defaultdict(float)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / calls / 1e3  # ms per call
    total = sum(by_op.values())
    ranked = sorted(by_op.items(), key=lambda item: -item[1])
    return {"model": model, "shape": list(SHAPES[model]), "kernel_ms_per_call": round(total, 3),
            "arithmetic_share": round(sum(v for k, v in by_op.items() if k in ARITHMETIC) / total, 3),
            "by_op": [{"op": op, "ms": round(ms, 4), "share": round(ms / total, 3)} for op, ms in ranked]}


def markdown(found: list[dict], env: dict) -> str:
    lines = [f"# Time by op type, ONNX Runtime {env['onnxruntime']} CPU provider ({env['cpu']})", "",
             "Kernel time from the node profiler, per call; arithmetic = convolutions, matrix products, LSTM.", "",
             "| model | shape | kernel ms/call | arithmetic share | top ops |", "|---|---|---|---|---|"]
    for entry in found:
        top = ", ".join(f"{o['op']} {o['share']:.0%}" for o in entry["by_op"][:4])
        lines.append(f"| {entry['model']} | {'x'.join(map(str, entry['shape']))} | {entry['kernel_ms_per_call']:.3g} | "
                     f"{entry['arithmetic_share']:.0%} | {top} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args(argv)
    found = [profile(model, args.calls) for model in SHAPES if model_zoo.installed(model)]
    env = environment.fingerprint()
    args.out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out / "op_profile.json", json.dumps({"environment": env, "models": found}, indent=1))
    atomic.write_text(args.out / "op_profile.md", markdown(found, env))
    print(markdown(found, env))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
