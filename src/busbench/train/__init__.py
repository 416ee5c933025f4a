"""Training: losses, augmentation, optimisation, checkpoints and the fold trainer."""
