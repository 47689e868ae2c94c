"""Evaluation harnesses: metrics and labelled-dataset runs behind ``soberpay eval``."""
