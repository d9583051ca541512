"""What training says it runs on, its warnings when that is less than the machine has, and what onnxruntime says
when CUDA is asked of it without the provider (no GPU needed)."""

import os

import onnxruntime as ort
import pytest
import tensorflow as tf

from zoo.runtime import OnnxGenerator, ProviderError
from training import strategies
from training.strategies import describe_devices, device_warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORES = strategies._cpu_cores()
HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


def test_devices_are_described_with_their_count_and_the_cores(mirrored_cpus, monkeypatch):
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    one_device = describe_devices(tf.distribute.get_strategy())
    assert one_device.startswith("GPU: ") if HAS_GPU else one_device == f"CPU, {CORES} cores"
    assert describe_devices(mirrored_cpus) == f"2 x CPU (logical devices), {CORES} cores"


@pytest.mark.skipif(HAS_GPU, reason="TensorFlow places the ops on this machine's GPU")
def test_fewer_threads_than_cores_are_named(monkeypatch):
    monkeypatch.setattr(strategies, "_cpu_cores", lambda: 2)
    for value, said in [("1", "CPU, 2 cores, 1 thread per op"), ("2", "CPU, 2 cores"), ("0", "CPU, 2 cores"),
                        ("many", "CPU, 2 cores")]:
        monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", value)
        assert describe_devices(tf.distribute.get_strategy()) == said


def test_no_warning_for_float32_where_tensorflow_sees_what_there_is(monkeypatch):
    monkeypatch.setattr(strategies, "_nvidia_gpu_present", lambda: HAS_GPU)
    assert device_warnings(tf.distribute.get_strategy(), mixed_precision=False) == []


@pytest.mark.skipif(HAS_GPU, reason="TensorFlow sees this machine's GPU")
def test_warns_of_a_gpu_tensorflow_cannot_see(monkeypatch):
    monkeypatch.setattr(strategies, "_nvidia_gpu_present", lambda: True)
    [warning] = device_warnings(tf.distribute.get_strategy(), mixed_precision=False)
    assert "NVIDIA GPU but TensorFlow sees none" in warning and ".[train,gpu]" in warning


def test_warns_of_mixed_precision_on_a_cpu(monkeypatch, mirrored_cpus):
    monkeypatch.setattr(strategies, "_nvidia_gpu_present", lambda: HAS_GPU)
    [warning] = device_warnings(mirrored_cpus, mixed_precision=True)
    assert warning.startswith("--mixed-precision on a CPU")


@pytest.mark.skipif("CUDAExecutionProvider" in ort.get_available_providers(), reason="this onnxruntime has CUDA")
def test_asking_onnxruntime_without_cuda_for_cuda_says_what_to_install():
    with pytest.raises(ProviderError, match=r"pip uninstall -y onnxruntime && pip install 'onnxruntime-gpu"):
        OnnxGenerator(os.path.join(ROOT, "zoo", "hub", "gan-fashion-mnist", "generator.onnx"),
                      providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
