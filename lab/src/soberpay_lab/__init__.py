"""soberpay-lab: the developer tools of soberpay — model training (torch) and evaluation.

Why a second distribution: a venue installs ``soberpay`` (the wheel built from the repository root),
and that wheel must not carry torch training code or evaluation harnesses it never runs. This package
lives in the same repository (``lab/``), depends on ``soberpay`` and imports from it — never the
other way round, so the runtime has no arrow pointing at the lab.

How the commands stay one command away: ``soberpay_lab.cli`` builds the ``eval`` and ``train``
command groups and publishes them in the ``soberpay.cli`` entry-point group (see
``lab/pyproject.toml``). The runtime CLI (``soberpay.cli.plugins``) mounts every group it finds
there, so ``soberpay eval faces``, ``soberpay eval thermal`` and ``soberpay train …`` keep their
flags and ``--json`` keys. Without the lab those groups print one line:
``install the developer tools: pip install -e ./lab``.

Layout: ``training/`` (torch models, synthetic data generators, ONNX export), ``evaluation/``
(metrics and dataset harnesses), ``cli/`` (the command modules). Code that inference needs too
(feature encodings, preprocessing, model file names) stays in the runtime package and is imported
from there, so training and inference cannot drift apart.
"""
