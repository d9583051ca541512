"""Pictures of generator output with numpy and pillow only: image grids and 1-D/2-D sample plots.

Used by training (a grid after every epoch) and by deploy-side tools, so it must not import TensorFlow.
"""

import numpy as np
from PIL import Image

from export.runtime import to_uint8
from zoo.files import atomic_writer

__all__ = ["image_grid", "points_plot", "save_png", "to_uint8"]


def image_grid(images, columns=None, padding=2):
    """uint8 images (N, H, W, C) tiled row by row into one (rows*H, columns*W, C) picture."""
    n, height, width, channels = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
                    np.uint8)
    for i, image in enumerate(images):
        top, left = padding + (i // columns) * (height + padding), padding + (i % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def points_plot(samples, reference, size=256):
    """A picture of 1-D or 2-D samples (white) over reference samples (grey), for the toy datasets.

    2-D: a scatter plot on the square that holds both sets. 1-D: two overlaid histograms.
    """
    samples, reference = np.asarray(samples, np.float32), np.asarray(reference, np.float32)
    both = np.concatenate([samples, reference])
    both = both[np.isfinite(both).all(axis=1)]
    low, high = both.min(axis=0), both.max(axis=0)
    margin = 0.05 * (high - low).max() + 1e-6
    low, high = low - margin, high + margin
    picture = np.zeros((size, size), np.uint8)

    def pixels(points, axis):
        return np.clip(((points[:, axis] - low[axis]) / (high[axis] - low[axis]) * (size - 1)), 0,
                       size - 1).astype(int)

    for points, shade in ((reference, 110), (samples, 255)):
        points = points[np.isfinite(points).all(axis=1)]
        if samples.shape[1] == 2:
            picture[size - 1 - pixels(points, 1), pixels(points, 0)] = shade
        else:
            counts = np.bincount(pixels(points, 0), minlength=size)
            heights = (counts / max(counts.max(), 1) * (size - 1)).astype(int)
            for column, height in enumerate(heights):
                picture[size - height:, column] = np.maximum(picture[size - height:, column], shade // 2)
    return picture[..., None]


def save_png(picture, path):
    """Write an (H, W, 1 or 3) uint8 picture as PNG atomically: a reader never sees half a file."""
    picture = picture[..., 0] if picture.shape[-1] == 1 else picture
    with atomic_writer(path) as f:
        Image.fromarray(picture).save(f, format="PNG")
