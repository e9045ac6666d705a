"""Running one deserialized TensorRT engine from any number of threads: contexts, streams, buffers, CUDA graphs.

An execution context is not thread-safe, so each calling thread gets its own context, stream and per-shape
buffers, created on first use and reused after. The engine's I/O comes in as plain names and NumPy dtypes, so
this module needs cuda-python but not TensorRT itself; that is what lets its tests run it around a stand-in
engine, on a GPU and on an emulated CUDA runtime on the CPU.
"""

import threading
from dataclasses import dataclass, field

import numpy as np

from visionrt.errors import BackendUnavailableError
from visionrt.runtime.backends import cuda
from visionrt.runtime.profiles import Profile


def refused(what: str) -> BackendUnavailableError:
    """TensorRT's setters log and return False rather than raise; a refusal must stop the call here. (The
    message is built only then: these setters run on every call.)"""
    return BackendUnavailableError(f"TensorRT refused {what} (see its log above)")


@dataclass
class ThreadState:
    """One thread's execution context and stream, and what it has set up per input-shape signature."""

    context: object
    stream: object
    buffers: dict = field(default_factory=dict)  # signature -> {tensor name: cuda.Buffers}
    graphs: dict = field(default_factory=dict)  # signature -> instantiated CUDA graph
    seen: set = field(default_factory=set)  # signatures enqueued once: a graph is captured on the second call


class EngineRunner:
    def __init__(self, engine, input_names: list[str], output_names: list[str], dtypes: dict[str, np.dtype],
                 profile: Profile, cuda_graph: bool = False):
        self.engine, self.input_names, self.output_names = engine, list(input_names), list(output_names)
        self.dtypes, self.profile, self.cuda_graph = dtypes, profile, cuda_graph
        self._local = threading.local()

    def state(self) -> ThreadState:
        """This thread's state, created on its first call."""
        state = getattr(self._local, "state", None)
        if state is None:
            context = self.engine.create_execution_context()
            if context is None:
                raise BackendUnavailableError("TensorRT could not create an execution context for this thread "
                                              "(out of GPU memory? see TensorRT's log above)")
            state = self._local.state = ThreadState(context, cuda.new_stream())
        return state

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        for name in self.input_names:
            self.profile.check(feeds[name].shape)  # before any GPU work, so a refused call costs nothing
        state = self.state()
        signature = tuple(tuple(feeds[n].shape) for n in self.input_names)
        for name in self.input_names:
            if not state.context.set_input_shape(name, feeds[name].shape):
                raise refused(f"input shape {tuple(feeds[name].shape)} for '{name}'")
        buffers = self._buffers_for(state, signature)
        for name in self.input_names:
            np.copyto(buffers[name].host, feeds[name], casting="same_kind")
            buffers[name].to_device(state.stream)
        for name, buffer in buffers.items():
            if not state.context.set_tensor_address(name, int(buffer.device)):
                raise refused(f"the address of tensor '{name}'")
        self._enqueue(state, signature)
        for name in self.output_names:
            buffers[name].to_host(state.stream)
        cuda.synchronize(state.stream)
        return [buffers[name].host.copy() for name in self.output_names]

    def _buffers_for(self, state: ThreadState, signature: tuple) -> dict:
        """Device and pinned host buffers for this signature, allocated on its first call only; the context's
        input shapes must already be set, since output shapes are read from it."""
        if signature not in state.buffers:
            buffers = {n: cuda.Buffers(shape, self.dtypes[n]) for n, shape in zip(self.input_names, signature)}
            buffers.update({n: cuda.Buffers(tuple(state.context.get_tensor_shape(n)), self.dtypes[n])
                            for n in self.output_names})
            state.buffers[signature] = buffers
        return state.buffers[signature]

    def _enqueue(self, state: ThreadState, signature: tuple) -> None:
        """Run the engine; with cuda_graph, replay a graph captured on this signature's second call.

        The first call runs plainly because TensorRT may allocate or tune on it, which a capture must not see.
        A replay reuses the captured buffer addresses, which is why buffers live as long as their signature.
        """
        rt, stream = cuda.cudart(), state.stream
        if signature in state.graphs:
            cuda.check(rt.cudaGraphLaunch(state.graphs[signature], stream), "cudaGraphLaunch")
            return
        if self.cuda_graph and signature in state.seen:
            cuda.check(rt.cudaStreamBeginCapture(stream, rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal),
                       "cudaStreamBeginCapture")
            enqueued = state.context.execute_async_v3(int(stream))
            captured = cuda.check(rt.cudaStreamEndCapture(stream), "cudaStreamEndCapture")  # even on failure
            if not enqueued:
                raise BackendUnavailableError(f"TensorRT execute_async_v3 failed while capturing shapes {signature}")
            state.graphs[signature] = cuda.check(rt.cudaGraphInstantiate(captured, 0), "cudaGraphInstantiate")
            cuda.check(rt.cudaGraphLaunch(state.graphs[signature], stream), "cudaGraphLaunch")
            return
        state.seen.add(signature)
        if not state.context.execute_async_v3(int(stream)):
            raise BackendUnavailableError(f"TensorRT execute_async_v3 failed for shapes {signature}")
