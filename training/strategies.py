"""tf.distribute strategies for `--strategy`, checked before any training starts.

- default: one device (CPU or one GPU).
- mirrored: every local GPU; without GPUs, `--replicas N` logical CPU devices (for testing the
  multi-replica code paths on a laptop).
- multiworker: MultiWorkerMirroredStrategy over the machines named in TF_CONFIG (see README).
- tpu: TPUStrategy, where a TPU is attached.
- auto: mirrored when more than one GPU is visible, else default.
"""

import json
import os

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
