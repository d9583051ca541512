"""The measuring helpers of benchmarks/: the profile summary reads real traces, peak memory is a fresh process's."""

import tensorflow as tf

from benchmarks.memory import peak_resident_mb
from benchmarks.profile_step import kernel_time_by_kind, op_kind


def test_op_kind_names_tensorflow_kernels_by_type_and_xla_thunks_by_kind():
    assert op_kind("StatefulPartitionedCall/generator_1/conv_transpose:Conv2DBackpropInput") == "Conv2DBackpropInput"
    assert op_kind("convolution-base-dilated.4") == "convolution-base-dilated"
    assert op_kind("multiply_select_fusion.12") == "multiply_select_fusion"
    assert op_kind("MatMul") == "MatMul"


def test_kernel_time_by_kind_sums_a_real_trace(tmp_path):
    a = tf.random.normal((256, 256))

    @tf.function
    def work():
        return tf.reduce_sum(tf.matmul(a, a))

    work()
    tf.profiler.experimental.start(str(tmp_path))
    for _ in range(5):
        work()
    tf.profiler.experimental.stop()
    totals = kernel_time_by_kind(str(tmp_path), steps=5)
    assert totals["MatMul"] > 0
    assert not any(wrapper in kind for kind in totals for wrapper in ("ExecutorState", "ParallelFor"))


def test_peak_resident_memory_is_the_child_process_own():
    small = peak_resident_mb("pass")
    large = peak_resident_mb("block = bytearray(300 * 2**20)")  # 300 MB, touched (zero-filled)
    assert small < 100 and 290 < large - small < 330
