"""busbench: fair, reproducible benchmarking of breast-ultrasound segmentation models."""

__version__ = "0.1.0"
