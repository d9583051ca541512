"""The measuring helpers of benchmarks/: the profile summary reads real traces, peak memory is a fresh process's,
the CycleGAN fidelity split adds up."""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from benchmarks.memory import peak_resident_mb
from benchmarks.profile_step import NOT_KERNELS, kernel_time_by_kind, op_kind


def test_op_kind_names_tensorflow_kernels_by_type_and_xla_thunks_by_kind():
    assert op_kind("StatefulPartitionedCall/generator_1/conv_transpose:Conv2DBackpropInput") == "Conv2DBackpropInput"
    assert op_kind("convolution-base-dilated.4") == "convolution-base-dilated"
    assert op_kind("multiply_select_fusion.12") == "multiply_select_fusion"
    assert op_kind("MatMul") == "MatMul"


def write_trace(folder, planes):
    """An xplane.pb as tf.profiler writes it: {plane name: {thread name: [(event name, picoseconds)]}}."""
    space = xplane_pb2.XSpace()
    for plane_name, threads in planes.items():
        plane = space.planes.add(name=plane_name)
        ids = {}
        for thread, events in threads.items():
            line = plane.lines.add(name=thread)
            for name, picoseconds in events:
                if name not in ids:
                    ids[name] = len(ids) + 1
                    plane.event_metadata[ids[name]].id = ids[name]
                    plane.event_metadata[ids[name]].name = name
                line.events.add(metadata_id=ids[name], duration_ps=picoseconds)
    path = folder / "plugins" / "profile" / "run" / "host.xplane.pb"
    path.parent.mkdir(parents=True)
    path.write_bytes(space.SerializeToString())


def test_kernel_time_by_kind_counts_the_kernels_of_every_compute_thread_whatever_its_name(tmp_path):
    ms = 10**9  # picoseconds
    write_trace(tmp_path, {
        "/host:CPU": {
            "tf_Compute/1": [("g/conv:Conv2DBackpropInput", 4 * ms), ("ExecutorState::Process", 9 * ms),
                             ("ExecutorDoneCallback", 3 * ms)],
            # where a oneDNN build (AVX-512) or XLA runs its kernels
            "some_other_pool/2": [("d/dense/MatMul:_MklMatMul", 2 * ms), ("MemoryAllocation", 1 * ms)],
            "tf_numa_-1_Eigen/3": [("fusion.3", 1 * ms), ("ThunkExecutor::Execute", 5 * ms)],
            "python": [("EagerExecute", 20 * ms), ("x:MatMul", 5 * ms)],  # the caller: left out
            "tf_data_private_threadpool/4": [("mul:Mul", 7 * ms)],  # the input pipeline: left out
        },
        "/device:GPU:0": {"Stream #1": [("volta_sgemm", 3 * ms)]},  # a device's streams: left out
    })
    totals = kernel_time_by_kind(str(tmp_path), steps=2)
    assert totals == pytest.approx({"Conv2DBackpropInput": 2.0, "_MklMatMul": 1.0, "fusion": 0.5})


def test_kernel_time_by_kind_sums_a_real_trace(tmp_path):
    """Which kernels run, and on which threads, depends on the CPU (oneDNN on AVX-512) and the build: only
    what holds on all of them is checked here."""
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
    assert sum(totals.values()) > 0 and all(ms > 0 for ms in totals.values())
    assert not any(NOT_KERNELS.search(kind) for kind in totals)


def test_peak_resident_memory_is_the_child_process_own():
    small = peak_resident_mb("pass")
    large = peak_resident_mb("block = bytearray(300 * 2**20)")  # 300 MB, touched (zero-filled)
    assert small < 100 and 290 < large - small < 330


def test_cyclegan_fidelity_splits_the_round_trip_error_into_what_each_generator_loses():
    from benchmarks.cyclegan_fidelity import fidelity, laplacian_energy

    rng = np.random.default_rng(0)
    images = np.full((4, 8, 8, 1), -1.0, np.float32)
    images[:, 2:6, 2:6] = rng.uniform(0, 1, (4, 4, 4, 1))  # a garment on a background of -1

    def blur(x):  # each pixel replaced by the mean of itself and its right neighbour
        return (x + np.roll(x, 1, axis=2)) / 2

    rows = fidelity({"A": images}, into={"A": blur}, translated={"A": images})
    row = rows["A"]
    # nothing to undo on the way out, so the round trip is the blur alone: identity and cycle errors match
    assert row["images"] == 4 and row["identity_l1"] == row["cycle_l1"] > 0
    assert row["detail_kept"] < 1 and laplacian_energy(images) > laplacian_energy(blur(images))
    assert 0.5 < row["cycle_error_on_garment"] < 1  # the blur also smears the garment's edge onto the background


def test_translation_misses_name_the_classes_missed_into_and_the_heights_of_their_sources():
    from benchmarks.cyclegan_fidelity import garment_rows, translation_misses

    sources = np.full((5, 10, 10, 1), -1.0, np.float32)
    for image, rows in zip(sources, (2, 4, 8, 6, 4)):
        image[:rows, 3:6] = 0.5  # garments 2, 4, 8, 6 and 4 rows tall
    sources[0, 9, 0] = -0.9  # a faint pixel is a halo, not part of the garment
    translated = sources.copy()
    translated[2, :] = 1.0  # the tallest source's translation fills all 10 rows
    assert garment_rows(sources).tolist() == [2, 4, 8, 6, 4]

    misses = translation_misses(sources, translated, predicted=np.array([7, 7, 9, 5, 9]), target=7)
    assert list(misses["classes"].items()) == [(9, 2), (5, 1)]  # most first
    assert misses == {"images": 5, "missed": 3, "classes": {9: 2, 5: 1}, "source_rows_missed": 6.0,
                      "source_rows_hit": 3.0, "translation_rows_missed": 20 / 3}
    assert translation_misses(sources, translated, np.full(5, 7), 7)["source_rows_missed"] is None
