"""Both ink conventions through the task APIs: every scikit-learn digit and held-out reader strings, drawn dark
on light (the zoo's) and light on dark (scikit-learn's and MNIST's own), with ``ink="auto"`` and with dark
ink assumed, as before the runtime looked.

    python -m visionrt.benchmarks.ink_conventions OUT
"""

import argparse
import json
from pathlib import Path

import numpy as np

from visionrt import atomic

CONVENTIONS = {"dark_on_light": lambda ink: np.round(255 * (1 - ink)).astype(np.uint8),
               "light_on_dark": lambda ink: np.round(255 * ink).astype(np.uint8)}


def score(found: list, truth: list) -> dict:
    return {"correct": float(np.mean([a == b for a, b in zip(found, truth)])), "n": len(truth)}


def measure(strings_count: int = 300) -> dict:
    from sklearn.datasets import load_digits

    from visionrt import runtime
    from visionrt.train import data, strings

    bunch = load_digits()
    digit_ink, truth = bunch.images / 16.0, [str(t) for t in bunch.target]
    dataset = data.load_digits_data(seed=0)
    ink, labels = dataset.part("test")
    string_ink, texts = strings.make_strings(ink, labels, strings_count, seed=7)
    classifier, reader = runtime.load("digits"), runtime.load("digit_reader")
    result = {}
    for name, draw in CONVENTIONS.items():
        digits = [draw(a) for a in digit_ink]
        lines = [draw(a) for a in string_ink]
        auto = classifier.classify(digits)
        read = reader.read(lines)
        result[name] = {
            "digits_accuracy": score([p.label for p in auto], truth),
            "digits_accuracy_dark_assumed": score([p.label for p in classifier.classify(digits, ink="dark")], truth),
            "digits_ink_found": {ink: sum(p.ink == ink for p in auto) for ink in ("dark", "light")},
            "reader_sequence_accuracy": score([r.text for r in read], texts),
            "reader_sequence_accuracy_dark_assumed": score([r.text for r in reader.read(lines, ink="dark")], texts),
            "reader_ink_found": {ink: sum(r.ink == ink for r in read) for ink in ("dark", "light")}}
    return result


def markdown(result: dict) -> str:
    lines = ["# Ink conventions through the task APIs", "",
             "All 1,797 scikit-learn digits and 300 reader strings (test-split digits, seed 7), each drawn both ways.",
             "", "| drawn | digits, ink auto | digits, dark assumed | reader, ink auto | reader, dark assumed | ink found |",
             "|---|---|---|---|---|---|"]
    for name, r in result.items():
        lines.append(f"| {name.replace('_', ' ')} | {r['digits_accuracy']['correct']:.2%} | "
                     f"{r['digits_accuracy_dark_assumed']['correct']:.2%} | {r['reader_sequence_accuracy']['correct']:.2%} | "
                     f"{r['reader_sequence_accuracy_dark_assumed']['correct']:.2%} | digits {r['digits_ink_found']}, "
                     f"reader {r['reader_ink_found']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    result = measure()
    args.out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out / "ink_conventions.json", json.dumps(result, indent=1))
    atomic.write_text(args.out / "ink_conventions.md", markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
