"""GAN zoo: classic GAN variants on Keras 3, exported to ONNX.

This package imports nothing heavy on its own: `zoo.grid` needs numpy and pillow only, while
`zoo.losses`, `zoo.nets` and `zoo.models` import Keras when they are imported.
"""

__version__ = "0.1.0"
