"""Network builders, kept apart from the training logic: each returns a functional keras.Model.

Input layers are named (`z`, `label`, `image`): the names become the ONNX input names on export.
"""

from zoo.nets.cyclegan import patchgan_discriminator, resnet_generator
from zoo.nets.dcgan import dcgan_discriminator, dcgan_generator
from zoo.nets.mlp import mlp_discriminator, mlp_generator

__all__ = ["dcgan_generator", "dcgan_discriminator", "mlp_generator", "mlp_discriminator",
           "resnet_generator", "patchgan_discriminator"]
