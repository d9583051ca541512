"""Test data beside an ONNX generator, as the ONNX Model Zoo has it: a folder test_data_set_0/ holding
input_0.pb, input_1.pb, ... (one per model input, in the model's input order) and output_0.pb, each a
serialized onnx.TensorProto. `python -m export` writes them (export/writer.py); `python -m zoo verify`
runs a generator on the inputs and compares what it computes with the outputs.

The deploy side has no onnx package, and onnxruntime cannot read a TensorProto, so parse_tensor reads the
few fields these files use straight from the protobuf wire format: dims (1), data_type (2), name (8) and
raw_data (9). A tensor that keeps its values in another field (float_data, ...) is refused.
"""

import glob
import os
import re

import numpy as np

from zoo.errors import ZooError, shortened_repr

TEST_SET = "test_data_set_0"  # the one test set that an export writes and a hub serves
TEST_SET_PATTERN = re.compile(r"test_data_set_(\d+)")
#: a runtime passes when |computed - expected| <= ATOL + RTOL * |expected| everywhere (numpy.allclose). The
#: expected outputs are Keras'; the export's parity check keeps onnxruntime within 1e-4 * (1 + |expected|).
ATOL, RTOL = 1e-4, 1e-3
#: TensorProto.DataType -> numpy dtype (little-endian, as raw_data is)
DTYPES = {1: "<f4", 2: "u1", 3: "i1", 4: "<u2", 5: "<i2", 6: "<i4", 7: "<i8", 9: "?", 10: "<f2", 11: "<f8",
          12: "<u4", 13: "<u8"}
#: the wire type each field read here must have (dims may also come packed, wire type 2)
WIRE_TYPES = {1: (0, 2), 2: (0,), 8: (2,), 9: (2,)}
DIMENSIONS_LIMIT = 32  # numpy's own limit is 64; a test tensor has a handful


class VerificationError(ZooError, ValueError):
    """Test data that is missing, unreadable, or does not fit the generator it sits beside."""


def _varint(data, at, source):
    """The unsigned varint at data[at:] and the position after it."""
    value = shift = 0
    while at < len(data) and shift < 64:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at
    raise VerificationError(f"{source} is not a serialized TensorProto (a number is cut off or too long)")


def parse_tensor(data, source):
    """(name, numpy array) from the bytes of a serialized onnx.TensorProto whose values are in raw_data."""
    fields, dims, at = {}, [], 0
    while at < len(data):
        key, at = _varint(data, at, source)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at, source)
        elif wire in (1, 5):  # fixed 64 and 32 bits: fields this reader skips
            value, at = None, at + (8 if wire == 1 else 4)
        elif wire == 2:
            length, at = _varint(data, at, source)
            value, at = data[at:at + length], at + length
        else:
            raise VerificationError(f"{source} is not a serialized TensorProto (wire type {wire})")
        if at > len(data):
            raise VerificationError(f"{source} is cut off: not a complete TensorProto")
        if field in WIRE_TYPES and wire not in WIRE_TYPES[field]:
            raise VerificationError(f"{source} is not a serialized TensorProto (field {field} has wire type {wire})")
        if field == 1:
            dims += [value] if wire == 0 else _packed_varints(value, source)
        elif field in WIRE_TYPES:
            fields[field] = value
    if any(d >= 1 << 63 for d in dims):  # int64 dims: negative ones arrive as huge varints
        raise VerificationError(f"{source} gives the tensor a negative dimension")
    if len(dims) > DIMENSIONS_LIMIT:
        raise VerificationError(f"{source} gives the tensor {len(dims)} dimensions, more than {DIMENSIONS_LIMIT}")
    dtype = DTYPES.get(fields.get(2))
    if dtype is None:
        raise VerificationError(f"{source} holds a tensor of data type {fields.get(2)}, not one of the numeric types "
                                "this reader knows")
    raw = fields.get(9, b"")
    expected = int(np.prod(dims, dtype=object)) * np.dtype(dtype).itemsize
    if len(raw) != expected:
        raise VerificationError(f"{source} holds {len(raw)} bytes of raw_data, a {tuple(dims)} {np.dtype(dtype)} "
                                f"tensor needs {expected}: write tensors with raw_data (onnx.numpy_helper.from_array)")
    try:
        name = fields.get(8, b"").decode()
    except UnicodeDecodeError:
        raise VerificationError(f"{source} names its tensor with bytes that are not UTF-8") from None
    return name, np.frombuffer(raw, dtype).reshape(dims).astype(np.dtype(dtype).newbyteorder("="))


def _packed_varints(data, source):
    values, at = [], 0
    while at < len(data):
        value, at = _varint(data, at, source)
        values.append(value)
    return values


def read_tensor(path):
    """(name, numpy array) of a .pb file holding one serialized TensorProto."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise VerificationError(f"cannot read {path} ({error.strerror or error})") from None
    return parse_tensor(data, path)


def find_test_sets(onnx_path):
    """The test-data folders of an ONNX file, in number order: STEM.test_data_set_N beside it (an export
    folder, which holds several generators), else test_data_set_N beside it (a folder per model, as the
    ONNX Model Zoo and a hub have it)."""
    folder, stem = os.path.split(os.path.abspath(onnx_path))
    for prefix in (stem.removesuffix(".onnx") + ".", ""):
        found = {}
        for path in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "test_data_set_*")):
            match = TEST_SET_PATTERN.fullmatch(os.path.basename(path)[len(prefix):])
            if match and os.path.isdir(path):
                found[int(match.group(1))] = path
        if found:
            return [found[number] for number in sorted(found)]
    return []


def run_test_set(generator, folder):
    """Run a zoo.runtime.OnnxGenerator on a test set's inputs: (largest |difference|, whether every value
    is within ATOL + RTOL * |expected|) against its output_0.pb."""
    inputs = generator.session.get_inputs()
    paths = [os.path.join(folder, f"input_{i}.pb") for i in range(len(inputs))]
    missing = [os.path.basename(p) for p in paths + [os.path.join(folder, "output_0.pb")] if not os.path.isfile(p)]
    if missing:
        raise VerificationError(f"{folder} has no {missing[0]}: a test set holds input_0.pb ... "
                                f"input_{len(inputs) - 1}.pb (one per model input) and output_0.pb")
    feeds = {}
    for spec, path in zip(inputs, paths):
        name, array = read_tensor(path)
        if name not in ("", spec.name):  # the convention feeds by position; a name, when given, must agree
            raise VerificationError(f"{path} holds tensor {shortened_repr(name)}, the model's input {len(feeds)} is "
                                    f"{spec.name!r}")
        feeds[spec.name] = array
    _, expected = read_tensor(os.path.join(folder, "output_0.pb"))
    try:
        actual = generator.session.run([generator.output_name], feeds)[0]
    except Exception as error:  # onnxruntime's errors share no base class beyond Exception
        raise VerificationError(f"{folder}: the model does not run on these inputs "
                                f"({str(error).split(':')[-1].strip()})") from None
    if actual.shape != expected.shape:
        raise VerificationError(f"{folder}: the model computes shape {actual.shape}, output_0.pb holds "
                                f"{expected.shape}")
    difference = np.abs(actual.astype(np.float64) - expected)
    return float(difference.max(initial=0.0)), bool((difference <= ATOL + RTOL * np.abs(expected)).all())
