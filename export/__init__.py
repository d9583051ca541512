"""Export: `python -m export` needs the training stack (TensorFlow, Keras, tf2onnx) and writes the ONNX files
that zoo.runtime (numpy and onnxruntime only) loads."""
