"""Training: data pipelines, run folders and checkpoints, the `python -m training` CLI."""
