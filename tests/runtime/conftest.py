"""Runtime tests' fixtures: the CUDA layer on an emulator everywhere, and on a GPU where there is one."""

import pytest


@pytest.fixture(params=["emulated", pytest.param("gpu", marks=pytest.mark.gpu)])
def cuda_runtime(request):
    """cuda-python's runtime module on a GPU, or the emulator installed in its place on the CPU."""
    if request.param == "emulated":
        return request.getfixturevalue("emulated_cuda")
    runtime = pytest.importorskip("cuda.bindings.runtime", reason="cuda-python is not installed (extra: gpu)")
    error, count = runtime.cudaGetDeviceCount()
    if int(error) != 0 or count < 1:
        pytest.skip(f"no CUDA GPU visible to cuda-python ({error}, {count} devices)")
    return runtime
