"""visionrt: classic vision models from PyTorch training to verified, fast deployment artifacts.

The namespace is split by responsibility: ``visionrt.train`` (PyTorch training), ``visionrt.export``
(ONNX export and validation), ``visionrt.model_zoo`` (model definitions, registry, shipped artifacts),
``visionrt.runtime`` (torch-free inference) and ``visionrt.benchmarks`` (timing harness).
"""

__version__ = "0.1.0"
