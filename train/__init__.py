"""PyTorch training for the zoo models (needs the ``train`` extra)."""
