"""Moved to zoo.runtime (numpy and onnxruntime only): this module stays so that existing imports keep working."""
from zoo.runtime import *  # noqa: F401,F403
