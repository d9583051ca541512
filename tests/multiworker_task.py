"""One task of a MultiWorkerMirroredStrategy run, for test_distribution.py (TF_CONFIG set by the test).

    python tests/multiworker_task.py RUN_FOLDER WEIGHTS.npz
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from training.train import train  # noqa: E402

out, weights_path = sys.argv[1:3]
model = train({"strategy": "multiworker", "width": 8, "latent_dim": 16, "train_examples": 256, "batch_size": 32,
               "epochs": 2}, out, verbose=0)
np.savez(weights_path, *[np.asarray(w) for w in model.generator.weights + model.discriminator.weights])
