"""Sobriety adapters: MediaPipe face/pose signals, pose CNN, anomaly detection, capture records, fusion."""
