"""GAN zoo: classic GAN variants on Keras 3, exported to ONNX.

This package imports nothing heavy on its own: `zoo.grid` needs numpy and pillow only, while
`zoo.losses`, `zoo.nets` and `zoo.models` import Keras when they are imported.

    import zoo
    generator = zoo.load("gan-fashion-mnist")   # downloaded once, verified, cached
    images = generator.sample(16, seed=0)        # uint8 (16, 28, 28, 1)
"""

__version__ = "0.1.0"


def load(name, hub=None, cache=None, **options):
    """A pretrained generator from the hub (`python -m zoo list`) as an onnxruntime wrapper
    (zoo.runtime.OnnxGenerator; options such as threads= or providers= go to it)."""
    from zoo.hub import Hub

    return Hub(hub, cache).load(name, **options)
