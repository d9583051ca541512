"""What a model card shows beside its numbers: the quality measured during training, as a curve over epochs.

The curve comes from the run's history.csv (the measures that `--eval-every` adds): a PNG that a reader of
the card looks at, the best epoch marked.
"""

import csv
import os

import numpy as np

from zoo.grid import line_chart

CURVE_FILE = "quality.png"
#: the measure a curve shows, in order of preference, with its label and whether lower is better
CURVE_MEASURES = (("fid", "domain FID", True), ("target_share_a2b", "A->B target-class share", False),
                  ("high_quality", "share of high-quality samples", False))


def quality_curve(run):
    """(epochs, values, label, lower_is_better) of the quality measured during `run`, or None if none was."""
    path = os.path.join(run, "history.csv")
    if not os.path.isfile(path):
        return None
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for key, label, lower_is_better in CURVE_MEASURES:
        points = [(int(row["epoch"]), float(row[key])) for row in rows if row.get(key) not in (None, "")]
        if points:
            epochs, values = zip(*points)
            return np.array(epochs), np.array(values), label, lower_is_better
    return None


def curve_plot(epochs, values, label, lower_is_better):
    """A line chart of `values` against `epochs` (uint8 RGB array), the best point circled."""
    best = int(np.argmin(values) if lower_is_better else np.argmax(values))
    return line_chart([(label, epochs, values, (31, 119, 180))],
                      f"{label} during training; best {values[best]:.4g} at epoch {epochs[best]}", "epoch", label,
                      marked=(epochs[best], values[best]))
