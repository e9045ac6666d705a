"""Inference backends behind one interface (see base.py)."""

from visionrt.runtime.backends.base import Backend, Target, TensorSpec, backend_classes

__all__ = ["Backend", "Target", "TensorSpec", "backend_classes"]
