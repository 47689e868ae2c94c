"""Training code. The only package allowed to import torch (a dependency of the lab, not of the runtime)."""
