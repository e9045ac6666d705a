"""Triton itself serving the zoo: NVIDIA's ``tritonserver`` (the one bundled in the ``nvidia-pytriton`` wheel,
which carries only Triton's Python backend), each model a Python-backend model whose execute step is
``visionrt.runtime.load(name).run(batch)``.

This is the reference the client tests can be pointed at, so that what they expect of ``visionrt serve`` is
checked against real Triton: the HTTP/REST and gRPC front ends, health, metadata, config, statistics,
repository index, binary tensors and dynamic batching are Triton's own code; only the model's compute is
visionrt's runtime (pytriton's bundled server cannot load the ``onnxruntime_onnx`` platform the repository's
``config.pbtxt`` names). Each model is declared from the loaded runtime model (input/output names, dtypes,
shapes with -1 for dynamic axes, ``metadata.max_batch_size``) and batched as the repository's
``config.pbtxt`` says (``dynamic_batching``: preferred sizes, queue delay), as Triton would batch it.

It needs its own environment, not visionrt's dev venv (pytriton pins its own tritonclient and wants numpy < 2
for its Python backend stub), e.g.::

    python3 -m venv /tmp/pytriton/venv
    /tmp/pytriton/venv/bin/pip install nvidia-pytriton "numpy<2" onnxruntime pillow
    /tmp/pytriton/venv/bin/pip install --no-deps -e .
    /tmp/pytriton/venv/bin/python benchmarks/triton_python_backend.py --http-port 0 --grpc-port 0 --metrics-port 0

and then, from visionrt's own venv::

    VISIONRT_TEST_HTTP_URL=127.0.0.1:<http> VISIONRT_TEST_GRPC_URL=127.0.0.1:<grpc> \\
        python -m pytest tests/serve/test_v2_protocol.py tests/serve/test_bad_requests.py tests/serve/test_batching.py

Where Triton's answers differ from the tests' expectations, read each failure as one of: a visionrt-specific
expectation (error wording, ``extensions``), a protocol difference ``visionrt serve`` should fix, or a limit
of the Python backend (errors raised by the execute step come back as 500 / INTERNAL, for instance).

It prints one line ``HTTP <host:port>, gRPC <host:port>, metrics <host:port>/metrics`` on stdout (among
tritonserver's own log lines, which pytriton passes through) once every model is ready, and stops Triton
(and its Python-backend stubs) on SIGINT or SIGTERM.
"""

import argparse
import os
import signal
import socket
import sys
import sysconfig
import threading

import numpy as np

HOST = "127.0.0.1"


def free_port() -> int:
    """A port free on the loopback now (Triton binds the port it is given; it cannot report one it picked)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def same_libpython() -> None:
    """Make the Python-backend stubs load this interpreter's libpython, not the first one the loader finds.

    pytriton's stub links ``libpython3.X.so.1.0`` by name but runs this environment's standard library; an
    older system copy of the same minor version (Debian's 3.11.2 beside a pyenv 3.11.7) fails in the stub's
    multiprocessing (``'_thread.RLock' object has no attribute '_recursion_count'``) and no model loads.
    """
    libdir, soname = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    shared = sysconfig.get_config_var("Py_ENABLE_SHARED") and libdir and soname
    if shared and os.path.isfile(os.path.join(libdir, soname)):
        paths = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]
        os.environ["LD_LIBRARY_PATH"] = ":".join([libdir, *(p for p in paths if p != libdir)])


def repository_batching(name: str) -> dict:
    """The ``dynamic_batching`` of the model's ``config.pbtxt`` (empty when it has none), read with Triton's
    own ModelConfig schema as shipped in tritonclient."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    from visionrt import model_zoo

    config = text_format.Parse((model_zoo.model_dir(name) / "config.pbtxt").read_text(),
                               model_config_pb2.ModelConfig())
    if not config.HasField("dynamic_batching"):
        return {}
    batching = config.dynamic_batching
    return {"max_queue_delay_microseconds": batching.max_queue_delay_microseconds,
            "preferred_batch_size": list(batching.preferred_batch_size) or None,
            "preserve_ordering": batching.preserve_ordering}


def infer_function(model):
    """The execute step: the batch Triton's dynamic batcher formed, run as one ``model.run`` call."""
    from pytriton.decorators import batch

    input_names = [spec.name for spec in model.inputs]
    output_names = [spec.name for spec in model.outputs]

    @batch
    def infer(**inputs):
        x = inputs[input_names[0]] if len(input_names) == 1 else {name: inputs[name] for name in input_names}
        result = model.run(x)
        return result if isinstance(result, dict) else {output_names[0]: result}

    return infer


def tensors(specs, batched: bool):
    """pytriton's Tensor declarations: shapes without the batch axis when the model batches, -1 if dynamic."""
    from pytriton.model_config import Tensor

    return [Tensor(name=spec.name, dtype=np.dtype(spec.dtype).type,
                   shape=tuple(-1 if d is None else d for d in (spec.shape[1:] if batched else spec.shape)))
            for spec in specs]


def bind_model(triton, name: str) -> None:
    from pytriton.model_config import DynamicBatcher, ModelConfig

    from visionrt import runtime

    model = runtime.load(name)
    max_batch_size = model.metadata.max_batch_size if model.metadata is not None else 0
    batched = max_batch_size > 0
    batching = repository_batching(name)
    config = ModelConfig(batching=batched, max_batch_size=max_batch_size if batched else 0,
                         batcher=DynamicBatcher(**batching) if batching else DynamicBatcher())
    triton.bind(model_name=name, infer_func=infer_function(model), inputs=tensors(model.inputs, batched),
                outputs=tensors(model.outputs, batched), config=config, strict=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http-port", type=int, default=8000, help="0: a free port (default 8000)")
    parser.add_argument("--grpc-port", type=int, default=8001, help="0: a free port (default 8001)")
    parser.add_argument("--metrics-port", type=int, default=8002, help="0: a free port (default 8002)")
    parser.add_argument("--model", action="append", dest="models", metavar="NAME",
                        help="serve only this zoo model (repeatable; default: every installed one)")
    parser.add_argument("--log-verbose", type=int, default=0, help="tritonserver's --log-verbose level")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from pytriton.triton import Triton, TritonConfig, TritonLifecyclePolicy, TritonSecurityConfig

    from visionrt import model_zoo

    names = args.models or [name for name in model_zoo.names() if model_zoo.installed(name)]
    ports = {key: getattr(args, f"{key}_port") or free_port() for key in ("http", "grpc", "metrics")}
    config = TritonConfig(http_address=HOST, http_port=ports["http"], grpc_address=HOST, grpc_port=ports["grpc"],
                          metrics_address=HOST, metrics_port=ports["metrics"], allow_metrics=True,
                          allow_gpu_metrics=False, log_verbose=args.log_verbose, exit_on_error=True)
    same_libpython()  # tritonserver, and the stubs it starts, inherit this process's environment
    # pytriton (0.7+) puts statistics, the repository index, shared memory, trace and logging behind a token of
    # its own; plain Triton does not, and the client tests call those endpoints, so none is restricted here.
    # local_model_store: each model is written as a folder of the model store Triton was started on (and loaded
    # from it at startup), not pushed through the load API with in-memory files, so that Triton's repository
    # index lists the models as it does for any repository.
    triton = Triton(config=config, security_config=TritonSecurityConfig(restricted_endpoints=[]),
                    triton_lifecycle_policy=TritonLifecyclePolicy(launch_triton_on_startup=True,
                                                                  local_model_store=True))
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        for name in names:
            bind_model(triton, name)
        triton.run()  # starts tritonserver and returns once every bound model is READY
        print(f"HTTP {HOST}:{ports['http']}, gRPC {HOST}:{ports['grpc']}, "
              f"metrics {HOST}:{ports['metrics']}/metrics", flush=True)
        while not stop.wait(1.0):
            if not triton.is_alive():
                print("tritonserver or a model's Python-backend stub exited", file=sys.stderr, flush=True)
                return 1
        return 0
    finally:
        triton.stop()


if __name__ == "__main__":
    sys.exit(main())
