"""The wheel installs everything under the one `visionrt` namespace, zoo artifacts included."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_has_only_the_visionrt_namespace_and_ships_the_zoo(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("visionrt-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert {t for t in top_level if not t.endswith(".dist-info")} == {"visionrt"}
    for expected in ("visionrt/runtime/__init__.py", "visionrt/train/loop.py", "visionrt/export/pipeline.py",
                     "visionrt/benchmarks/harness.py", "visionrt/model_zoo/repository/digits/config.pbtxt",
                     "visionrt/model_zoo/repository/digits/1/model.onnx",
                     "visionrt/model_zoo/repository/digits/1/model_fp16.onnx",
                     "visionrt/model_zoo/samples/digits/digit_0.png"):
        assert expected in names, expected
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "visionrt = visionrt.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
