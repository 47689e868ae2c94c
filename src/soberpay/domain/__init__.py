"""Pure domain core: plain Python only — no numpy, OpenCV, SQLAlchemy, FastAPI or model runtimes.

A test (tests/unit/test_domain_purity.py) enforces this by scanning imports.
"""
