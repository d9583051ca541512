"""Export and deploy. `export.runtime` needs numpy and onnxruntime only; `python -m export` needs the
training stack (TensorFlow, Keras, tf2onnx) and writes the files that the runtime loads."""
