"""visionrt: classic vision models from PyTorch training to verified, fast deployment artifacts.

The namespace is split by responsibility: ``visionrt.train`` (PyTorch training), ``visionrt.export``
(ONNX export and validation), ``visionrt.model_zoo`` (model definitions, registry, shipped artifacts),
``visionrt.runtime`` (torch-free inference), ``visionrt.serve`` (the KServe v2 / Triton-protocol server) and
``visionrt.benchmarks`` (timing harness). This package lives in ``core/``, and each of the others in the root
folder of its name: pyproject.toml maps them all into the one namespace.
"""

__version__ = "0.1.0"
