"""An emulated ``tensorrt`` module: the slice of TensorRT 10's and 11's Python API that visionrt calls, on the CPU.

TensorRT cannot be installed where these tests run, so this stands in for it to test visionrt's own logic
around TensorRT (what the builder is asked for, the engine cache, the backend's loading, binding and errors).
It checks the calls visionrt makes against the documented API; it says nothing of TensorRT's kernels,
precision or speed. What it does:

- The ONNX parser makes one layer per ONNX node, named as onnx-tensorrt names them (after the node; a
  node's further layers ``<node>_<counter>``, one counter for the whole network). LSTM nodes get a second layer.
- Networks are weakly typed unless created STRONGLY_TYPED (always, as TensorRT 11: ``EmulatedTensorRT(11)``,
  whose BuilderFlag also lacks the weak-typing flags that 11 removed); a strongly typed network refuses
  per-layer precisions.
- ``build_serialized_network`` records what it was asked for in ``builds`` and returns a "plan": the request
  plus the ONNX bytes. Deserializing it gives an engine whose contexts run the ONNX through ONNX Runtime's
  CPU session, reading and writing the addresses they were given on the emulated CUDA runtime's streams.
"""

import ctypes
import enum
import hashlib
import json
from types import ModuleType

import numpy as np

__version__ = "10.0.0+emulated"


class DataType(enum.Enum):
    FLOAT, HALF, INT32, INT64, INT8, BOOL = range(6)


float32, float16 = DataType.FLOAT, DataType.HALF
NUMPY = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT32: np.int32,
         DataType.INT64: np.int64, DataType.INT8: np.int8, DataType.BOOL: np.bool_}
ONNX_RUNTIME = {"tensor(float)": DataType.FLOAT, "tensor(float16)": DataType.HALF, "tensor(int64)": DataType.INT64}


def nptype(data_type: DataType):
    return NUMPY[data_type]


class TensorIOMode(enum.Enum):
    NONE, INPUT, OUTPUT = range(3)


class LayerType(enum.Enum):
    CONVOLUTION, MATRIX_MULTIPLY, ACTIVATION, POOLING, SHUFFLE, ELEMENTWISE, NORMALIZATION, SOFTMAX, LOOP, \
        RESIZE, CONCATENATION, SLICE, UNARY, CONSTANT = range(14)


LAYER_TYPES = {"Conv": LayerType.CONVOLUTION, "Gemm": LayerType.MATRIX_MULTIPLY, "MatMul": LayerType.MATRIX_MULTIPLY,
               "Relu": LayerType.ACTIVATION, "Sigmoid": LayerType.ACTIVATION, "MaxPool": LayerType.POOLING,
               "Reshape": LayerType.SHUFFLE, "Transpose": LayerType.SHUFFLE, "Squeeze": LayerType.SHUFFLE,
               "Unsqueeze": LayerType.SHUFFLE, "InstanceNormalization": LayerType.NORMALIZATION,
               "Softmax": LayerType.SOFTMAX, "LogSoftmax": LayerType.SOFTMAX, "LSTM": LayerType.LOOP,
               "Resize": LayerType.RESIZE, "Concat": LayerType.CONCATENATION, "Slice": LayerType.SLICE}
EXTRA_LAYER = {"LSTM": LayerType.SHUFFLE}  # ops the emulated parser turns into two layers


class MemoryPoolType(enum.Enum):
    WORKSPACE = 0


class BuilderFlag(enum.Enum):
    FP16, OBEY_PRECISION_CONSTRAINTS, TF32 = range(3)


class BuilderFlag11(enum.Enum):  # TensorRT 11 removed every weak-typing flag
    TF32 = 2


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH, STRONGLY_TYPED = range(2)


class Logger:
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

    def __init__(self, min_severity=WARNING):
        self.min_severity = min_severity


class IProgressMonitor:
    """Subclassed by visionrt; the subclass must call this ``__init__`` (pybind11 trampolines need it)."""

    def __init__(self):
        self._initialised = True


class Layer:
    def __init__(self, name: str, layer_type: LayerType, strongly_typed: bool, num_outputs: int = 1):
        self.name, self.type, self.num_outputs, self.strongly_typed = name, layer_type, num_outputs, strongly_typed
        self._precision, self.precision_is_set, self.output_types = DataType.FLOAT, False, {}

    def _refuse_if_strongly_typed(self) -> None:
        if self.strongly_typed:
            raise RuntimeError(f"layer {self.name}: setting a precision or output type is not allowed in a "
                               "strongly typed network")

    @property
    def precision(self) -> DataType:
        return self._precision

    @precision.setter
    def precision(self, data_type: DataType) -> None:
        self._refuse_if_strongly_typed()
        self._precision, self.precision_is_set = data_type, True

    def set_output_type(self, index: int, data_type: DataType) -> None:
        self._refuse_if_strongly_typed()
        if not 0 <= index < self.num_outputs:
            raise IndexError(f"layer {self.name} has {self.num_outputs} outputs, not {index + 1}")
        self.output_types[index] = data_type


class INetworkDefinition:
    def __init__(self, flags: int, always_strongly_typed: bool):
        self.flags, self.layers, self.onnx = flags, [], None
        self.strongly_typed = always_strongly_typed or bool(flags & 1 << NetworkDefinitionCreationFlag.STRONGLY_TYPED)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def get_layer(self, index: int) -> Layer:
        return self.layers[index]


class OnnxParser:
    def __init__(self, network: INetworkDefinition, logger: Logger):
        self.network, self.errors = network, []

    def parse(self, model: bytes) -> bool:
        import onnx

        try:
            graph = onnx.load_from_string(model).graph
        except Exception as exc:  # noqa: BLE001 - the parser reports, it does not raise
            self.errors.append(f"ModelImporter: cannot read the ONNX model ({type(exc).__name__})")
            return False
        names, counter = set(), iter(range(1, 1 << 30))

        def unique(base: str) -> str:  # onnx-tensorrt's generateUniqueName
            name = base
            while name in names:
                name = f"{base}_{next(counter)}"
            names.add(name)
            return name

        for node in graph.node:
            typed = self.network.strongly_typed
            self.network.layers.append(Layer(unique(node.name), LAYER_TYPES.get(node.op_type, LayerType.UNARY), typed))
            if node.op_type in EXTRA_LAYER:
                self.network.layers.append(Layer(unique(node.name), EXTRA_LAYER[node.op_type], typed))
        self.network.onnx = model
        return True

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    def get_error(self, index: int) -> str:
        return self.errors[index]


class IOptimizationProfile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, input: str, min, opt, max) -> None:  # noqa: A002 - TensorRT's argument names
        if not all(a <= b <= c for a, b, c in zip(min, opt, max)) or not len(min) == len(opt) == len(max):
            raise ValueError(f"profile for {input}: min {min} <= opt {opt} <= max {max} does not hold")
        self.shapes[input] = (tuple(min), tuple(opt), tuple(max))


class ITimingCache:
    def __init__(self, entries: int, foreign: bool = False):
        self.entries, self.foreign = entries, foreign

    def serialize(self) -> bytes:
        return json.dumps({"timing_entries": self.entries}).encode()


class IBuilderConfig:
    def __init__(self):
        self.flags, self.pools, self.profiles, self.timing_cache = set(), {}, [], None
        self.builder_optimization_level, self.progress_monitor = 3, None

    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None:
        self.pools[pool] = pool_size

    def set_flag(self, flag: BuilderFlag) -> None:
        self.flags.add(flag)

    def add_optimization_profile(self, profile: IOptimizationProfile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    def create_timing_cache(self, serialized_timing_cache: bytes) -> ITimingCache:
        recorded = json.loads(serialized_timing_cache) if serialized_timing_cache else {}
        return ITimingCache(recorded.get("timing_entries", 0), recorded.get("foreign", False))

    def set_timing_cache(self, cache: ITimingCache, ignore_mismatch: bool) -> bool:
        if cache.foreign and not ignore_mismatch:
            return False  # TensorRT refuses a cache recorded on another device or CUDA version
        self.timing_cache = cache
        return True

    def get_timing_cache(self) -> ITimingCache:
        return self.timing_cache


class Builder:
    def __init__(self, logger: Logger, emulator: "EmulatedTensorRT"):
        self.emulator = emulator

    def create_network(self, flags: int = 0) -> INetworkDefinition:
        return INetworkDefinition(flags, always_strongly_typed=self.emulator.major >= 11)

    def create_builder_config(self) -> IBuilderConfig:
        return IBuilderConfig()

    def create_optimization_profile(self) -> IOptimizationProfile:
        return IOptimizationProfile()

    def build_serialized_network(self, network: INetworkDefinition, config: IBuilderConfig):
        monitor = config.progress_monitor
        if monitor is not None:
            if not getattr(monitor, "_initialised", False):
                raise TypeError("the progress monitor did not call IProgressMonitor.__init__")
            monitor.phase_start("Building engine (emulated)", None, 1)
            monitor.step_complete("Building engine (emulated)", 0)
            monitor.phase_finish("Building engine (emulated)")
        request = {"flags": sorted(flag.name for flag in config.flags), "strongly_typed": network.strongly_typed,
                   "onnx_sha256": hashlib.sha256(network.onnx).hexdigest(),
                   "workspace": config.pools.get(MemoryPoolType.WORKSPACE),
                   "optimization_level": config.builder_optimization_level,
                   "profiles": [{name: [list(s) for s in shapes] for name, shapes in p.shapes.items()}
                                for p in config.profiles],
                   "pinned": [layer.name for layer in network.layers if layer.precision_is_set
                              and layer.precision == DataType.FLOAT
                              and all(layer.output_types.get(i) == DataType.FLOAT for i in range(layer.num_outputs))],
                   "timing_entries_in": config.timing_cache.entries if config.timing_cache else None}
        self.emulator.builds.append(request)
        if self.emulator.fail_build:
            return None
        if config.timing_cache is not None:
            config.timing_cache.entries += 1
        return json.dumps({"request": request, "onnx": network.onnx.hex()}).encode()


class Runtime:
    def __init__(self, logger: Logger):
        pass

    def deserialize_cuda_engine(self, serialized_engine: bytes):
        try:
            plan = json.loads(serialized_engine)
        except ValueError:
            return None  # TensorRT logs and returns None for a plan it cannot read
        return ICudaEngine(bytes.fromhex(plan["onnx"]), plan["request"])


class ICudaEngine:
    def __init__(self, onnx_bytes: bytes, request: dict):
        import onnxruntime

        self.request = request
        # NchwcTransformer off: ONNX Runtime's CPU build crashes on FP16 graphs with FP32 islands (README).
        self.session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"],
                                                    disabled_optimizers=["NchwcTransformer"])
        self.io = {arg.name: (TensorIOMode.INPUT, arg) for arg in self.session.get_inputs()}
        self.io.update({arg.name: (TensorIOMode.OUTPUT, arg) for arg in self.session.get_outputs()})

    @property
    def num_io_tensors(self) -> int:
        return len(self.io)

    def get_tensor_name(self, index: int) -> str:
        return list(self.io)[index]

    def get_tensor_mode(self, name: str) -> TensorIOMode:
        return self.io[name][0]

    def get_tensor_dtype(self, name: str) -> DataType:
        return ONNX_RUNTIME[self.io[name][1].type]

    def get_tensor_shape(self, name: str) -> tuple:
        return tuple(d if isinstance(d, int) else -1 for d in self.io[name][1].shape)

    def create_execution_context(self) -> "IExecutionContext":
        return IExecutionContext(self)


class IExecutionContext:
    def __init__(self, engine: ICudaEngine):
        self.engine, self.shapes, self.addresses = engine, {}, {}

    def set_input_shape(self, name: str, shape) -> bool:
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name: str) -> tuple:
        if self.engine.get_tensor_mode(name) == TensorIOMode.INPUT:
            return self.shapes[name]
        zeros = {n: np.zeros(s, nptype(self.engine.get_tensor_dtype(n))) for n, s in self.shapes.items()}
        index = [arg.name for arg in self.engine.session.get_outputs()].index(name)
        return self.engine.session.run(None, zeros)[index].shape

    def set_tensor_address(self, name: str, memory: int) -> bool:
        self.addresses[name] = memory
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        from visionrt.runtime.backends import cuda

        rt = cuda.cudart()
        if set(self.addresses) != set(self.engine.io) or set(self.shapes) != {
                n for n, (mode, _) in self.engine.io.items() if mode == TensorIOMode.INPUT}:
            return False  # TensorRT refuses to enqueue with an unset address or input shape
        rt.submit(stream_handle, self._compute)
        return True

    def _compute(self) -> None:
        """Run the ONNX on what the input addresses hold and write each output to its address."""
        from visionrt.runtime.backends import cuda

        rt, feeds = cuda.cudart(), {}
        for name, shape in self.shapes.items():
            dtype = np.dtype(nptype(self.engine.get_tensor_dtype(name)))
            feeds[name] = self._view(rt, name, shape, dtype).copy()
        names = [arg.name for arg in self.engine.session.get_outputs()]
        for name, value in zip(names, self.engine.session.run(None, feeds)):
            self._view(rt, name, value.shape, value.dtype)[...] = value

    def _view(self, rt, name: str, shape, dtype) -> np.ndarray:
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if not rt.holds(self.addresses[name], nbytes, on_device=True):
            raise RuntimeError(f"emulated engine: tensor {name} {shape} does not fit the memory at its address")
        raw = (ctypes.c_char * nbytes).from_address(self.addresses[name])
        return np.frombuffer(raw, dtype).reshape(shape)


class EmulatedTensorRT(ModuleType):
    """The module object installed as ``tensorrt``: this file's API plus what a test inspects or injects."""

    def __init__(self, major: int = 10):
        super().__init__("tensorrt")
        for name, value in globals().items():
            if not name.startswith("_") or name == "__version__":
                setattr(self, name, value)
        self.major, self.builds, self.fail_build = major, [], False
        if major >= 11:
            self.__version__, self.BuilderFlag = f"{major}.4.0+emulated", BuilderFlag11
        self.Builder = lambda logger: Builder(logger, self)
