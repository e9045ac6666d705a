"""The runtime works where torch cannot be imported at all."""

import subprocess
import sys
import textwrap


def test_runtime_loads_and_classifies_with_torch_blocked(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch" / "__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
    code = textwrap.dedent("""
        import sys
        try:
            import torch
        except ImportError as exc:
            print("blocked:", exc)
        else:
            sys.exit("torch imported, the test is broken")
        import numpy as np
        from visionrt import runtime
        from visionrt.model_zoo import samples_dir
        model = runtime.load("digits")
        files = sorted(samples_dir("digits").glob("*.png"))
        print("labels:", "".join(p.label for p in model.classify(files)))
        print("run:", model.run(np.zeros((2, 1, 8, 8), np.float32)).shape)
        print("torch loaded:", "torch" in sys.modules)  # a failed import leaves no entry
    """)
    env = {"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "blocked: torch is blocked in this test" in out.stdout
    assert "labels: 0123456789" in out.stdout
    assert "run: (2, 10)" in out.stdout
    assert "torch loaded: False" in out.stdout
