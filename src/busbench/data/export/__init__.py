"""Exports to outside methods: the held-out test images and nnU-Net's raw format."""
