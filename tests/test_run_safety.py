"""A run folder is ours alone: --overwrite replaces only runs, a busy folder is refused, the folder's own files
are checked before use, hostile configs and flags end in one line (exit 2) with nothing written, and resuming
reaches its position without replaying the data."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from export.__main__ import main as export_main
from tests.helpers import history, snapshot
from training import data as datasets
from training import evaluate
from training.__main__ import main as training_main
from training.config import STRATEGIES, all_options
from training.run import RunFolder
from zoo.files import write_json
from zoo.models import VARIANTS
from zoo.models.gan import LOSSES as GAN_LOSSES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_FLAGS = ["--width", "8", "--latent-dim", "16", "--train-examples", "256", "--batch-size", "32"]
# no example database: it would be written into the working folder that the tests watch
HOSTILE = settings(max_examples=60, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW_HOSTILE = settings(HOSTILE, max_examples=15)
KNOWN_CHOICES = (*VARIANTS, *STRATEGIES, *GAN_LOSSES)


def run_cli(main, argv, capsys):
    """(exit code, stderr) of an entry point called in-process; argparse's refusals exit with SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def assert_one_line_refusal(code, err):
    assert code == 2 and err.count("\n") == 1 and len(err) < 1000, (code, err)
    assert "Traceback" not in err and "internal error" not in err, err


def read_json(path):
    return json.loads(Path(path).read_text())


def looks_like_a_run(folder):
    """config.json and checkpoints/: what a run folder is recognised by."""
    (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", {"model": "gan"})


@pytest.fixture
def nothing_can_be_removed(monkeypatch):
    """A safety net for tests that aim --overwrite at real folders: any removal fails the test instead."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"tried to remove {args[:1]}")
    monkeypatch.setattr(RunFolder, "_clear", refuse)
    monkeypatch.setattr(shutil, "rmtree", refuse)


@pytest.fixture
def run_copy(trained_run, tmp_path):
    """A copy of the 2-epoch tiny run (8 steps an epoch), for a test to damage."""
    run = tmp_path / "run"
    shutil.copytree(trained_run[0], run, ignore=shutil.ignore_patterns("export"))
    return run


# --- --overwrite replaces only a run folder below the current one ------------------------------------------

@pytest.mark.parametrize("target", ["root", "home", "home-link", "cwd", "cwd-dot", "parent", "grandparent",
                                    "foreign", "file"])
def test_overwrite_refuses_protected_and_foreign_folders(target, tmp_path, monkeypatch, capsys,
                                                         nothing_can_be_removed):
    home, work = tmp_path / "home", tmp_path / "a" / "b" / "work"
    for folder in (home, work, work.parent, work.parent.parent):  # even looking like runs, they are protected
        looks_like_a_run(folder)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("not a run")
    (tmp_path / "a-file").write_text("not a folder")
    os.symlink(home, tmp_path / "home-link")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    out = {"root": "/", "home": str(home), "home-link": str(tmp_path / "home-link"), "cwd": str(work),
           "cwd-dot": ".", "parent": "..", "grandparent": str(tmp_path / "a"), "foreign": str(tmp_path / "notes"),
           "file": str(tmp_path / "a-file")}[target]
    before = snapshot(tmp_path)
    code, err = run_cli(training_main, ["--out", out, "--overwrite", *TINY_FLAGS], capsys)
    assert_one_line_refusal(code, err)
    expected = {"foreign": "is not a run folder", "file": "is a file"}.get(target, "--overwrite never replaces")
    assert expected in err, err
    assert snapshot(tmp_path) == before


def test_foreign_folder_is_neither_written_into_nor_resumed(tmp_path, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    for flags in ([], ["--resume"]):
        code, err = run_cli(training_main, ["--out", str(notes), *flags, *TINY_FLAGS], capsys)
        assert_one_line_refusal(code, err)
        assert "not a run folder" in err
    assert os.listdir(notes) == ["notes.txt"]


def test_overwrite_replaces_a_run_folder_whole(run_copy):
    (run_copy / "samples" / "extra.png").touch()
    assert training_main(["--out", str(run_copy), "--overwrite", *TINY_FLAGS, "--epochs", "1", "--seed", "5"]) == 0
    assert read_json(run_copy / "config.json")["seed"] == 5
    assert os.listdir(run_copy / "samples") == ["epoch-0001.png"]
    assert [row["epoch"] for row in history(run_copy)] == ["1"]


# --- one process at a time --------------------------------------------------------------------------------

def test_a_busy_run_folder_is_refused_naming_its_holder(run_copy, tmp_path, capsys):
    holder = f"pid {os.getpid()} on {socket.gethostname()}"
    with RunFolder(str(run_copy)).lock():
        before = snapshot(run_copy)
        for flags in (["--resume", "--epochs", "3"], ["--overwrite", *TINY_FLAGS], TINY_FLAGS):
            started = time.monotonic()
            code, err = run_cli(training_main, ["--out", str(run_copy), *flags], capsys)
            assert_one_line_refusal(code, err)
            assert f"in use by {holder}" in err and time.monotonic() - started < 30
        assert snapshot(run_copy) == before
    new = str(tmp_path / "new")
    with RunFolder(new).lock():  # a run that has only just started: nothing in it yet but the lock
        code, err = run_cli(training_main, ["--out", new, *TINY_FLAGS], capsys)
        assert_one_line_refusal(code, err)
        assert f"in use by {holder}" in err and os.listdir(new) == [".lock"]


def training_process(*args):
    return subprocess.Popen([sys.executable, "-m", "training", *TINY_FLAGS, *args], cwd=ROOT, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})


def test_second_process_is_refused_and_the_first_run_is_unharmed(tmp_path, capsys):
    run = str(tmp_path / "run")
    first = training_process("--epochs", "40", "--seed", "1", "--out", run)
    while first.poll() is None and not os.path.exists(os.path.join(run, "data.json")):
        time.sleep(0.05)
    # each would write into the busy folder: a new run, a replacement, a continuation
    for flags in ([*TINY_FLAGS, "--seed", "2"], [*TINY_FLAGS, "--seed", "2", "--overwrite"],
                  ["--resume", "--epochs", "41"]):
        code, err = run_cli(training_main, ["--out", run, *flags], capsys)
        assert_one_line_refusal(code, err)
        assert f"in use by pid {first.pid} on {socket.gethostname()}" in err, err
    assert first.poll() is None  # the refusals came while it trained
    _, error = first.communicate(timeout=600)
    assert first.returncode == 0, error
    assert [row["epoch"] for row in history(run)] == [str(epoch) for epoch in range(1, 41)]
    assert read_json(os.path.join(run, "config.json"))["seed"] == 1
    assert RunFolder(run).latest_checkpoint()[:2] == (40, 0)


def test_two_runs_started_together_into_one_folder_one_trains_the_other_is_refused(tmp_path):
    run = str(tmp_path / "run")
    processes = [training_process("--epochs", "2", "--seed", str(seed), "--out", run) for seed in (1, 2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "in use by pid" in refused or "already holds a run" in refused, refused
    winner = next(seed for (code, _), seed in zip(results, (1, 2)) if code == 0)
    assert read_json(os.path.join(run, "config.json"))["seed"] == winner
    assert [row["epoch"] for row in history(run)] == ["1", "2"]


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    run = str(tmp_path / "run")
    first = training_process("--epochs", "50", "--out", run)
    while first.poll() is None and not os.path.exists(os.path.join(run, "checkpoints", "latest.json")):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=60)
    assert RunFolder(run).holder() is None  # the kernel released the flock with the process


# --- the run folder's own files are checked before use ----------------------------------------------------

def damage(run, kind):
    """Damage `run` the way `kind` says; returns the words the refusal must contain."""
    latest, config, history_file = run / "checkpoints" / "latest.json", run / "config.json", run / "history.csv"
    record = read_json(latest)
    if kind == "huge-step":  # the hang of the issue: a resume that replayed 10**12 steps
        write_json(latest, {**record, "step": 10**12, "checkpoint": f"epoch-0002-step-{10**12:06d}/ckpt"})
        return "step 1000000000000, not counts of a run"
    if kind == "step-beyond-the-epoch":  # a longer epoch, named consistently
        (run / "checkpoints" / "epoch-0002").rename(run / "checkpoints" / "epoch-0001-step-000009")
        write_json(latest, {**record, "epoch": 1, "step": 9, "checkpoint": "epoch-0001-step-000009/ckpt"})
        return "an epoch of this run has 8 steps"
    if kind == "negative-step":
        write_json(latest, {**record, "step": -5})
        return "not counts of a run"
    if kind == "another-runs-checkpoint":
        write_json(latest, {**record, "checkpoint": "../../other/checkpoints/epoch-0002/ckpt"})
        return "not this folder's epoch-0002/ckpt"
    if kind == "absolute-checkpoint":
        write_json(latest, {**record, "checkpoint": "/etc/passwd"})
        return "not this folder's"
    if kind == "latest-not-json":
        latest.write_text('{"epoch": 2, ')
        return "not valid JSON"
    if kind == "record-not-an-object":
        write_json(latest, {**record, "trained_with": "non_saturating"})
        return "trained_with is not an object"
    if kind == "config-edited-to-another-loss":
        write_json(config, {**read_json(config), "loss": "minimax"})
        return "says loss='minimax', but checkpoint"
    if kind == "config-utf16":
        config.write_text(config.read_text(), encoding="utf-16")
        return "not UTF-8"
    if kind == "config-deep":
        config.write_text("[" * 20_000 + "]" * 20_000)
        return "nested too deeply"
    if kind == "config-huge":
        write_json(config, {**read_json(config), "dataset": "x" * 10_000_000})
        return "larger than 64 KiB"
    if kind == "truncated-checkpoint":
        shard = run / "checkpoints" / "epoch-0002" / "ckpt.data-00000-of-00001"
        os.truncate(shard, shard.stat().st_size // 2)
        return "cannot be restored"
    if kind == "garbage-history-row":
        history_file.write_text(history_file.read_text() + "garbage,row\n")
        return "line 4 is not a history row"
    assert kind == "binary-history"
    history_file.write_bytes(history_file.read_bytes() + b"\xff\xfe\x00garbage\n")
    return "not a history file"


RUN_DAMAGES = ["huge-step", "step-beyond-the-epoch", "negative-step", "another-runs-checkpoint",
               "absolute-checkpoint", "latest-not-json", "record-not-an-object", "config-edited-to-another-loss",
               "config-utf16", "config-deep", "config-huge", "truncated-checkpoint", "garbage-history-row",
               "binary-history"]


@pytest.mark.parametrize("kind", RUN_DAMAGES)
def test_damaged_run_files_refuse_resume_and_export_in_one_line(kind, run_copy, tmp_path, capsys):
    expected = damage(run_copy, kind)
    before = snapshot(run_copy)
    started = time.monotonic()
    code, err = run_cli(training_main, ["--out", str(run_copy), "--resume", "--epochs", "3"], capsys)
    assert_one_line_refusal(code, err)
    assert expected in err and time.monotonic() - started < 60, err
    if "history" not in kind:  # export does not read the history
        code, err = run_cli(export_main, [str(run_copy), "--out", str(tmp_path / "exported")], capsys)
        assert_one_line_refusal(code, err)
        assert not os.path.exists(tmp_path / "exported")
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("kind", ["truncated", "config-edited-to-another-loss", "record-not-an-object"])
def test_a_damaged_best_checkpoint_refuses_export_in_one_line(kind, run_copy, tmp_path, capsys):
    from training.run import load_trained_model

    model, _ = load_trained_model(str(run_copy), checkpoint="latest")
    RunFolder(str(run_copy)).save_best(model, 2, {"score": 1.0})  # as --eval-every keeps it
    best = run_copy / "checkpoints" / "best"
    if kind == "truncated":
        shard = best / "ckpt.data-00000-of-00001"
        os.truncate(shard, shard.stat().st_size // 2)
        expected = "cannot be restored"
    elif kind == "config-edited-to-another-loss":
        write_json(run_copy / "config.json", {**read_json(run_copy / "config.json"), "loss": "minimax"})
        expected = "says loss='minimax', but checkpoint"
    else:
        write_json(best / "best.json", {**read_json(best / "best.json"), "trained_with": ["loss"]})
        expected = "trained_with is not an object"
    before = snapshot(run_copy)
    code, err = run_cli(export_main, [str(run_copy), "--out", str(tmp_path / "exported")], capsys)
    assert_one_line_refusal(code, err)
    assert expected in err and not os.path.exists(tmp_path / "exported")
    assert snapshot(run_copy) == before


COUNTS = st.one_of(st.integers(), st.integers(-3, 12), st.floats(allow_nan=True), st.text(max_size=8), st.none(),
                   st.booleans(), st.lists(st.integers(), max_size=3))
CHECKPOINTS = st.one_of(st.sampled_from(["epoch-0001/ckpt", "epoch-0002/ckpt", "epoch-0001-step-000003/ckpt",
                                         "../epoch-0002/ckpt", "/etc/passwd", "", "epoch-0002"]),
                        st.text(max_size=30), st.integers(), st.none())


@SLOW_HOSTILE
@given(epoch=COUNTS, step=COUNTS, checkpoint=CHECKPOINTS, keep_record=st.booleans())
def test_any_latest_json_is_used_only_when_it_names_this_runs_checkpoint(run_copy, capsys, epoch, step, checkpoint,
                                                                        keep_record):
    latest = run_copy / "checkpoints" / "latest.json"
    record = read_json(latest)
    valid = [(e, 0, f"epoch-000{e}/ckpt") for e in (1, 2)]  # the checkpoints the run really has
    assume((epoch, step, checkpoint) not in valid)
    value = {"epoch": epoch, "step": step, "checkpoint": checkpoint,
             **({"trained_with": record["trained_with"]} if keep_record else {})}
    write_json(latest, value)
    before = snapshot(run_copy)
    code, err = run_cli(training_main, ["--out", str(run_copy), "--resume", "--epochs", "2"], capsys)
    assert_one_line_refusal(code, err)
    assert snapshot(run_copy) == before
    write_json(latest, record)


# --- hostile configs and flags: one line, exit 2, nothing written -----------------------------------------

def not_a_number(text):
    try:
        float(text)
        return False
    except ValueError:
        return True


#: neither numbers nor None (which options without a default take)
NOT_NUMBERS = st.one_of(st.booleans(), st.text(max_size=5).filter(not_a_number), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])


def hostile_count(low, high, optional=False):
    """Values that an integer option bounded to [low, high] must refuse (None too, unless it is `optional`)."""
    wrong = st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1), st.floats(allow_nan=True),
                      NOT_NUMBERS)
    return wrong if optional else st.one_of(wrong, st.none())


HOSTILE_OPTIONS = st.one_of(
    st.tuples(st.just("seed"), hostile_count(0, 2**32 - 1)),
    st.tuples(st.just("epochs"), hostile_count(1, 100_000)),
    st.tuples(st.just("batch_size"), hostile_count(1, 65_536)),
    st.tuples(st.just("width"), hostile_count(1, 1024)),
    st.tuples(st.just("latent_dim"), hostile_count(1, 4096)),
    st.tuples(st.just("train_examples"), hostile_count(1, 2**31 - 1, optional=True)),
    st.tuples(st.just("image_size"), hostile_count(1, 64, optional=True)),
    st.tuples(st.just("d_steps"), hostile_count(1, 1000)),
    st.tuples(st.sampled_from(["learning_rate", "beta_1", "beta_2"]),
              st.one_of(NON_FINITE, st.floats(max_value=-1e-9), NOT_NUMBERS, st.none())),
    st.tuples(st.just("learning_rate"), st.just(0.0)),
    st.tuples(st.sampled_from(["beta_1", "beta_2"]), st.floats(min_value=1.0)),
    st.tuples(st.sampled_from(["model", "loss", "strategy"]),
              st.one_of(st.text(min_size=1, max_size=20).filter(lambda s: s not in KNOWN_CHOICES),
                        st.integers(), st.none())),
    st.tuples(st.just("dataset"), st.sampled_from(["x" * 10_000_000, "folder:/no/such/folder"])),
    st.tuples(st.from_regex(r"[a-z_]{1,20}", fullmatch=True).filter(lambda key: key not in all_options()),
              st.integers()),
)


@pytest.fixture
def quiet_folder(tmp_path, monkeypatch):
    """An empty working folder: whatever a refused command would write would show here. A command that
    reaches training fails at once instead of training."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)

    def reached(*args, **kwargs):
        raise AssertionError("a hostile input reached training")
    monkeypatch.setattr(datasets.Data, "batches", reached)
    return folder


@HOSTILE
@given(option=HOSTILE_OPTIONS, as_file=st.booleans())
def test_hostile_options_are_one_line_exit_2_and_write_nothing(quiet_folder, capsys, option, as_file):
    key, value = option
    if as_file:
        recipe = quiet_folder.parent / "recipe.json"
        recipe.write_text(json.dumps({key: value}))
        argv = ["--config", str(recipe)]
    else:  # a flag takes text: what the user would type
        flag = "--" + key.replace("_", "-")
        argv = [flag, value if isinstance(value, str) else json.dumps(value)]
    code, err = run_cli(training_main, [*argv, "--out", "run"], capsys)
    assert_one_line_refusal(code, err)
    assert os.listdir(quiet_folder) == []


HOSTILE_FILES = st.one_of(
    st.binary(max_size=200),
    st.just("[" * 100_000 + "]" * 100_000),
    st.just('{"seed": ' + "9" * 5000 + "}"),
    st.just('{"learning_rate": NaN}'),
    st.just('{"epochs": 1e999}'),
    st.just(json.dumps({"epochs": 2}).encode("utf-16")),
    st.just(json.dumps({"dataset": "x" * 100_000})),
    st.just("[1, 2, 3]"),
    st.just('"just a string"'),
    st.text(max_size=50).filter(lambda t: not t.strip().startswith("{")),
)


@HOSTILE
@given(content=HOSTILE_FILES)
def test_hostile_config_files_are_one_line_exit_2_and_write_nothing(quiet_folder, capsys, content):
    recipe = quiet_folder.parent / "recipe.json"
    if isinstance(content, str):
        content = content.encode("utf-8")
    recipe.write_bytes(content)
    code, err = run_cli(training_main, ["--config", str(recipe), "--out", "run"], capsys)
    assert_one_line_refusal(code, err)
    assert os.listdir(quiet_folder) == []


def test_a_10_mb_value_is_not_echoed_back(quiet_folder, capsys):
    code, err = run_cli(training_main, ["--dataset", "y" * 10_000_000, "--out", "run"], capsys)
    assert_one_line_refusal(code, err)
    assert "characters long" in err and len(err) < 400


@HOSTILE
@given(flags=st.lists(st.sampled_from([
    ["--samples", "1"], ["--samples", "-5"], ["--samples", str(10**9)], ["--steps", "0"], ["--steps", str(10**12)],
    ["--seed", "-1"], ["--seed", str(2**64)], ["--features", "nope"], ["--out", "missing-folder/results.json"],
    ["--out", "."], ["--samples", "nan"]]), min_size=1, max_size=3),
    path=st.sampled_from(["run", "fgan-1d", "missing.onnx", "garbage.onnx", "."]))
def test_hostile_evaluate_flags_are_refused_before_any_work(trained_run, quiet_folder, capsys, flags, path):
    (quiet_folder.parent / "garbage.onnx").write_bytes(b"not onnx")
    if path == "run":
        path = trained_run[0]
    elif path != "fgan-1d":
        path = str(quiet_folder.parent / path)
    before = snapshot(trained_run[0])
    started = time.monotonic()
    code, err = run_cli(evaluate.main, [path, *[word for flag in flags for word in flag]], capsys)
    assert_one_line_refusal(code, err)
    assert time.monotonic() - started < 20 and os.listdir(quiet_folder) == []
    assert snapshot(trained_run[0]) == before


def test_evaluate_out_in_a_missing_folder_is_refused_before_the_work(trained_run, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(evaluate, "evaluate", lambda *args: pytest.fail("evaluated before checking --out"))
    code, err = run_cli(evaluate.main, [trained_run[0], "--out", str(tmp_path / "missing" / "results.json")], capsys)
    assert_one_line_refusal(code, err)
    assert "does not exist" in err


@HOSTILE
@given(flags=st.lists(st.sampled_from([
    ["--opset", "12"], ["--opset", "-1"], ["--opset", str(10**30)], ["--opset", "x"], ["--out", "a-file"],
    ["--out", "notes"], ["--out", "a-file/below"]]), min_size=1, max_size=2),
    path=st.sampled_from(["run", "missing", "notes", "a-file"]))
def test_hostile_export_flags_are_refused_before_any_work(trained_run, quiet_folder, capsys, flags, path):
    outside = quiet_folder.parent
    (outside / "a-file").write_text("mine")
    (outside / "notes").mkdir(exist_ok=True)
    (outside / "notes" / "notes.txt").write_text("mine")
    argv = [trained_run[0] if path == "run" else str(outside / path)]
    argv += [str(outside / word) if word in ("a-file", "notes", "a-file/below") else word
             for flag in flags for word in flag]
    before = snapshot(outside)
    code, err = run_cli(export_main, argv, capsys)
    assert_one_line_refusal(code, err)
    assert snapshot(outside) == before


# --- resuming reaches its position without replaying the data ---------------------------------------------

def counted(data):
    """`data` whose examples count how often one is read, in `data.reads`."""
    data.reads = []

    def note(x, y):
        def count(x):
            data.reads.append(1)
            return x
        return tf.py_function(count, [x], x.dtype), y
    data.examples = data.examples.map(note)
    return data


def first_batch(data, **position):
    return next(iter(data.batches(32, seed=0, **position)))


def test_resume_reads_each_example_once_whatever_the_epoch(capsys):
    reads = []
    for epoch, step in ((0, 0), (1, 3), (1_000, 7), (100_000, 5)):
        data = counted(datasets.load("fashion_mnist", limit=256))
        first_batch(data, first_epoch=epoch, skip_steps=step)
        reads.append(len(data.reads))
    assert reads == [256] * 4  # loading the examples once, however far the resumed position is


def test_resume_time_does_not_grow_with_the_epoch():
    data = datasets.load("fashion_mnist", limit=256)
    seconds = []
    for epoch in (0, 10**6):
        started = time.perf_counter()
        first_batch(data, first_epoch=epoch, skip_steps=7)
        seconds.append(time.perf_counter() - started)
    assert seconds[1] < seconds[0] + 5  # replaying 10**6 epochs of 256 examples would take minutes


@settings(max_examples=20, deadline=None)
@given(epoch=st.integers(0, 3), step=st.integers(0, 7), per_step=st.sampled_from([1, 2]),
       two_domains=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_resumed_batches_are_the_uninterrupted_ones(epoch, step, per_step, two_domains, seed):
    data = datasets.load("fashion_mnist:5-7" if two_domains else "fashion_mnist", limit=64 * per_step + 5)
    steps = data.steps_per_epoch(8 * per_step)
    step = min(step, steps - 1)
    stream = list(data.batches(8, seed, per_step=per_step).take((epoch + 1) * steps + 2))
    resumed = list(data.batches(8, seed, first_epoch=epoch, per_step=per_step, skip_steps=step).take(2))
    for expected, got in zip(stream[epoch * steps + step:], resumed):
        for a, b in zip(expected, got):
            np.testing.assert_array_equal(a, b)


def test_every_epoch_is_a_permutation_of_the_examples():
    data = datasets.load("ring8", limit=64)
    everything = np.asarray(next(iter(data.examples.batch(64)))[0])
    epochs = [np.concatenate([np.asarray(x) for x, _ in data.batches(16, 0, first_epoch=e).take(4)])
              for e in (0, 1)]
    for epoch in epochs:
        np.testing.assert_array_equal(np.sort(epoch, axis=0), np.sort(everything, axis=0))
    assert not np.array_equal(epochs[0], epochs[1])
