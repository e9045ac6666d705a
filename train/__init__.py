"""PyTorch training for the zoo models (needs the ``train`` extra).

Lives in ``train/``, installed as ``visionrt.train`` (pyproject.toml maps each root folder into the one namespace).
"""
