"""Export trained checkpoints, or a user's own model, to validated, self-describing ONNX artifacts (needs the
``train`` extra).

Lives in ``export/``, installed as ``visionrt.export`` (pyproject.toml maps each root folder into the one namespace).
"""

from visionrt.export.pipeline import ExportOptions, export_checkpoint
from visionrt.export.user_model import export_model, export_onnx_file

__all__ = ["ExportOptions", "export_checkpoint", "export_model", "export_onnx_file"]
