"""tf.distribute strategies for `--strategy`, checked before any training starts.

- default: one device (CPU or one GPU).
- mirrored: every local GPU; without GPUs, `--replicas N` logical CPU devices (for testing the
  multi-replica code paths on a laptop).
- multiworker: MultiWorkerMirroredStrategy over the machines named in TF_CONFIG (see README).
- tpu: TPUStrategy, where a TPU is attached.
- auto: mirrored when more than one GPU is visible, else default.

Training prints what its replicas run on (describe_devices) and warns where that is not what the machine
could do (device_warnings): an NVIDIA GPU that TensorFlow cannot see, float16 compute on a CPU.
"""

import json
import os
import shutil

import numpy as np
import tensorflow as tf

from training.config import STRATEGIES, ConfigError
#: collective ops wait this long for a peer before the step fails (a dead worker must not hang the rest);
#: GAN_ZOO_COLLECTIVE_TIMEOUT overrides it
COLLECTIVE_TIMEOUT_SECONDS = 300


def make_strategy(name, replicas=None):
    """The strategy `name`; must run before TensorFlow has placed any op (logical devices, MWMS)."""
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy '{name}': choose from {', '.join(STRATEGIES)}")
    gpus = tf.config.list_physical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if replicas is not None and name != "mirrored":
        raise ConfigError(f"--replicas applies to --strategy mirrored, not {name}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(_mirrored_devices(gpus, replicas))
    if name == "multiworker":
        check_tf_config()
        timeout = float(os.environ.get("GAN_ZOO_COLLECTIVE_TIMEOUT", COLLECTIVE_TIMEOUT_SECONDS))
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as error:
        raise ConfigError(f"--strategy tpu: no TPU found ({str(error).splitlines()[0][:200]}); use default "
                          "or mirrored on this machine") from None
    return tf.distribute.TPUStrategy(resolver)


def _mirrored_devices(gpus, replicas):
    if gpus:
        if replicas is not None and replicas > len(gpus):
            raise ConfigError(f"--replicas {replicas}: only {len(gpus)} GPUs are visible")
        return [f"/gpu:{i}" for i in range(replicas or len(gpus))]
    replicas = replicas or 1
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError:  # TensorFlow already started: the logical devices it has are final
        available = len(tf.config.list_logical_devices("CPU"))
        if available < replicas:
            raise ConfigError(f"--replicas {replicas}: TensorFlow already started with {available} logical "
                              "CPU devices") from None
    return [f"/cpu:{i}" for i in range(replicas)]


def describe_devices(strategy):
    """What this process's replicas run on: '2 x GPU: NVIDIA H100 80GB HBM3', 'CPU, 2 cores', 'CPU, 2 cores,
    1 thread per op', '2 x CPU (logical devices), 2 cores', '8 x TPU'; in a cluster, with the number of
    workers, as '2 workers (chief 0: CPU, 2 cores)' (a process sees its own devices only)."""
    local = _describe_local_devices(strategy)
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return local
    cluster = resolver.cluster_spec().as_dict()
    workers = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    return f"{workers} workers ({resolver.task_type} {resolver.task_id}: {local})" if workers > 1 else local


def _describe_local_devices(strategy):
    devices = _replica_devices(strategy)
    count = f"{len(devices)} x " if len(devices) > 1 else ""
    kind = devices[0].device_type  # a strategy's replicas are all of one kind
    if kind == "GPU":
        gpus = tf.config.list_physical_devices("GPU")
        names = sorted({tf.config.experimental.get_device_details(gpus[device.device_index or 0])
                        .get("device_name", "unnamed") for device in devices})
        return f"{count}GPU: {', '.join(names)}"
    if kind == "CPU":
        cores, threads = _cpu_cores(), _op_threads()
        fewer = f", {threads} thread{'s' if threads > 1 else ''} per op" if threads and threads < cores else ""
        return f"{count}CPU{' (logical devices)' if count else ''}, {cores} cores{fewer}"
    return f"{count}{kind}"


def device_warnings(strategy, mixed_precision):
    """Why this run may be slower than the machine allows, one sentence each (empty when nothing is)."""
    warnings = []
    if _nvidia_gpu_present() and not tf.config.list_physical_devices("GPU"):
        reason = ("this TensorFlow is built without CUDA (tensorflow-cpu?)" if not tf.test.is_built_with_cuda()
                  else "TensorFlow found no usable CUDA libraries or driver")
        warnings.append(f"this machine has an NVIDIA GPU but TensorFlow sees none, so training runs on the CPU: "
                        f"{reason}; install with `pip install -e '.[train,gpu]'` (README, 'GPU')")
    if mixed_precision and all(device.device_type == "CPU" for device in _replica_devices(strategy)):
        warnings.append("--mixed-precision on a CPU: float16 is emulated there and usually slower than float32; "
                        "it is meant for GPUs")
    return warnings


def _replica_devices(strategy):
    """The DeviceSpecs of this process's replicas."""
    try:
        names = strategy.extended.worker_devices
    except RuntimeError:  # the default strategy has none: TensorFlow places ops on the first GPU, if any
        names = ["/device:GPU:0" if tf.config.list_logical_devices("GPU") else "/device:CPU:0"]
    return [tf.DeviceSpec.from_string(name) for name in names]


def _cpu_cores():
    """The cores this process may run on (a container's share, not the host's count, where Linux says)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _op_threads():
    """The threads TensorFlow gives an op where TF_NUM_INTRAOP_THREADS sets them (several trainings sharing a
    machine), else None: as many as it has cores. A wall time means little without it."""
    value = os.environ.get("TF_NUM_INTRAOP_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _nvidia_gpu_present():
    """An NVIDIA GPU and its driver, whether or not TensorFlow can use them."""
    gpus = "/proc/driver/nvidia/gpus"
    return bool(os.path.isdir(gpus) and os.listdir(gpus)) or shutil.which("nvidia-smi") is not None


def check_tf_config():
    """Validate TF_CONFIG for MultiWorkerMirroredStrategy; returns it parsed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ConfigError("--strategy multiworker needs TF_CONFIG naming the cluster and this task (README: "
                          "'Several machines')")
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = task["type"], task["index"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ConfigError(f"TF_CONFIG does not parse as {{'cluster': {{...}}, 'task': {{'type', 'index'}}}}: "
                          f"{error!r}") from None
    if kind not in ("chief", "worker") or kind not in cluster:
        raise ConfigError(f"TF_CONFIG names this task '{kind}', which is not a chief or worker of the cluster "
                          f"({', '.join(cluster)})")
    if not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise ConfigError(f"TF_CONFIG task index {index!r} is not one of the {len(cluster[kind])} "
                          f"'{kind}' addresses")
    return config


def is_chief(strategy):
    """The one process that writes checkpoints, samples and logs: the chief, or worker 0 without one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def fix_randomness_per_replica(model, global_batch, seed=0, draws=4):
    """Replace the model's random draws (noise, WGAN-GP's mixing) by each replica's slice of fixed global
    batches: one step then computes the same update on any number of replicas, which is how replica parity
    is checked (tests/test_parity.py, benchmarks/gpu.py)."""
    rng = np.random.default_rng(seed)
    noise = tf.constant(rng.standard_normal((draws, global_batch, getattr(model, "latent_dim", 1))), tf.float32)
    mixing = tf.constant(rng.uniform(size=global_batch), tf.float32)

    def replica_slice(table, size):
        start = tf.distribute.get_replica_context().replica_id_in_sync_group * size
        return table[start:start + size]

    model.sample_noise = lambda size, draw: replica_slice(noise[draw], size)
    model.sample_mixing = lambda size: replica_slice(mixing, size)
