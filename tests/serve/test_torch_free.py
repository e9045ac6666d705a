"""The server runs where torch cannot be imported at all: the serve extra is the runtime plus its front ends."""

import subprocess
import sys
import textwrap


def test_a_server_starts_and_answers_both_protocols_with_torch_blocked(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch" / "__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import tritonclient.grpc, tritonclient.http
        from visionrt.serve import Server, ServeOptions
        options = ServeOptions(models=("digits",), http_port=0, grpc_port=0, metrics_port=0)
        with Server(options, progress=lambda line: None).running() as at:
            for module, url in ((tritonclient.http, at.http), (tritonclient.grpc, at.grpc)):
                tensor = module.InferInput("image", [2, 1, 8, 8], "FP32")
                tensor.set_data_from_numpy(np.zeros((2, 1, 8, 8), np.float32))
                print(module.__name__, module.InferenceServerClient(url).infer("digits", [tensor]).as_numpy("logits").shape)
        print("torch loaded:", "torch" in sys.modules)
    """)
    env = {"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "tritonclient.http (2, 10)" in out.stdout and "tritonclient.grpc (2, 10)" in out.stdout
    assert "torch loaded: False" in out.stdout
