"""Training code. The only package allowed to import torch (the ``[train]`` extra)."""
