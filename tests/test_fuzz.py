"""Fuzz the onnxruntime wrapper: any input either works or is refused by our own checks (ValueError or
TypeError with a message); nothing reaches onnxruntime that makes it fail with its own error."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zoo.runtime import OnnxGenerator

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DTYPES = st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8, np.bool_])
# floats drawn by hypothesis include NaN and inf
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=20))
ANYTHING = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=5),
                     st.booleans(), st.lists(st.integers(-20, 20), max_size=12), ARRAYS)


@pytest.fixture(scope="module")
def generators(trained_run, cgan_run, cyclegan_run):
    return {"noise": OnnxGenerator(os.path.join(trained_run[0], "export", "generator.onnx")),
            "conditional": OnnxGenerator(os.path.join(cgan_run[0], "export", "generator.onnx")),
            "translation": OnnxGenerator(os.path.join(cyclegan_run[0], "export", "generator_ab.onnx"))}


def works_or_refused(call):
    """Run call(); it returns finite output or raises our ValueError/TypeError (never onnxruntime's)."""
    try:
        result = call()
    except (ValueError, TypeError) as error:
        assert "onnxruntime" not in type(error).__module__ and str(error), repr(error)
        return None
    assert np.isfinite(np.asarray(result, np.float64)).all()
    return result


@FUZZ
@given(z=ARRAYS)
def test_generate_with_any_array(generators, z):
    works_or_refused(lambda: generators["noise"].generate(z))


@FUZZ
@given(z=hnp.arrays(np.float32, st.tuples(st.integers(1, 4), st.just(16))), labels=ANYTHING)
def test_conditional_generate_with_any_labels(generators, z, labels):
    works_or_refused(lambda: generators["conditional"].generate(z, labels))


@FUZZ
@given(n=ANYTHING, seed=st.one_of(st.none(), st.integers(0, 2**32)), labels=ANYTHING)
def test_sample_with_any_count_and_labels(generators, n, seed, labels):
    for kind in ("noise", "conditional"):
        works_or_refused(lambda: generators[kind].sample(n, seed=seed, labels=labels))


@FUZZ
@given(images=ARRAYS)
def test_translate_with_any_array(generators, images):
    works_or_refused(lambda: generators["translation"].translate(images))


@FUZZ
@given(images=hnp.arrays(np.float32, st.tuples(st.integers(1, 3), st.just(28), st.just(28), st.just(1)),
                         elements=st.floats(allow_nan=True, allow_infinity=True, width=32)))
def test_translate_with_any_float_values(generators, images):
    works_or_refused(lambda: generators["translation"].translate(images))
