"""Export trained checkpoints to validated, self-describing ONNX artifacts (needs the ``train`` extra)."""

from visionrt.export.pipeline import ExportOptions, export_checkpoint

__all__ = ["ExportOptions", "export_checkpoint"]
