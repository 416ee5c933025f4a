"""Deployment: fold models as ONNX, and ONNX Runtime as an inference engine of ``predict`` and ``profile``."""
