"""Pictures with numpy and pillow only: image grids and 1-D/2-D sample plots of generator output, and
image files read as generator input.

Used by training (a grid after every epoch) and by deploy-side tools, so it must not import TensorFlow.
"""

import math
import struct
import warnings

import numpy as np
from PIL import Image

from zoo.runtime import to_uint8
from zoo.errors import ZooError, shortened_repr
from zoo.files import atomic_writer

__all__ = ["PictureError", "image_grid", "line_chart", "points_plot", "read_picture", "save_png", "to_uint8"]

#: 8-bit modes that pillow converts to grey or RGB as they are
EIGHT_BIT_MODES = ("1", "L", "P", "RGB", "RGBX", "CMYK", "YCbCr")
#: modes with transparency: composited over black, the background of the training images (Fashion-MNIST)
ALPHA_MODES = ("LA", "PA", "RGBA")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
#: 32-bit integer ('I') and float ('F') images carry no range of their own: the first of these that holds
#: all their values is taken as theirs (8-bit values, 16-bit values, or floats in [0, 1])
WIDE_MODE_RANGES = {"I": (255, 65535), "F": (1.0, 255, 65535)}
#: what pillow raises for a damaged or hostile file, beyond OSError: its decoders use all of these
_DECODING_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, Image.DecompressionBombError,
                    Image.DecompressionBombWarning)


class PictureError(ZooError, ValueError):
    """An image file that cannot be read, or whose kind of pixels cannot be converted."""


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


def _round_ticks(low, high, count=5):
    """About `count` round tick values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    step = (high - low) / max(count - 1, 1) or 1.0
    magnitude = 10 ** math.floor(math.log10(step))
    step = min(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= step)
    first, last = math.floor(low / step), math.ceil(high / step)
    return np.arange(first, max(last, first + 1) + 1) * step  # two ticks or more: a constant series gets an axis


def line_chart(series, title, x_label, y_label, log_y=False, marked=None, width=640, height=400):
    """An RGB picture (H, W, 3) of the lines [(label, xs, ys, colour)], on a linear or a log-10 y axis,
    with a legend, and `marked` = (x, y) circled in red (a curve's best point)."""
    from PIL import ImageDraw, ImageFont

    left, right, top, bottom = 60, 20, 50, 45
    xs = np.concatenate([np.asarray(s[1], float) for s in series])
    ys = np.concatenate([np.asarray(s[2], float) for s in series])
    scale = np.log10 if log_y else np.asarray
    if log_y:
        lowest = math.floor(np.log10(ys).min())
        y_ticks = np.arange(lowest, max(math.ceil(np.log10(ys).max()), lowest + 1) + 1)
    else:
        y_ticks = _round_ticks(ys.min(), ys.max())
    # the axis spans its ticks (two or more), so a curve between 0.90 and 0.98 fills the plot
    y_low, y_high = float(y_ticks[0]), float(y_ticks[-1])
    x_low, x_high = xs.min(), max(xs.max(), xs.min() + 1)
    picture = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(picture)
    draw.font = ImageFont.load_default(size=13)  # pillow's 10-pixel default runs words together

    def point(x, scaled_y):
        return (left + (x - x_low) / (x_high - x_low) * (width - left - right),
                height - bottom - (scaled_y - y_low) / (y_high - y_low) * (height - top - bottom))

    for tick in y_ticks:
        y = point(x_low, tick)[1]
        draw.line([(left, y), (width - right, y)], fill=(225, 225, 225))
        draw.text((8, y - 6), f"1e{tick:g}" if log_y else f"{tick:g}", fill="black")
    for x in np.unique(np.round(np.linspace(x_low, x_high, 5))):
        draw.text((point(x, y_low)[0] - 8, height - bottom + 6), f"{x:g}", fill="black")
    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    legend_x = max(left, 24 + draw.textlength(y_label))  # right of the axis label that shares its line
    for label, x, y, colour in series:
        draw.line([point(a, b) for a, b in zip(x, scale(np.asarray(y, float)))], fill=colour, width=2)
        draw.line([(legend_x, 33), (legend_x + 16, 33)], fill=colour, width=2)
        draw.text((legend_x + 20, 27), label, fill=colour)
        legend_x += 36 + draw.textlength(label)
    if marked is not None:
        x, y = point(marked[0], float(scale(marked[1])))
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), outline=(220, 0, 0), width=2)
    draw.text((left, 8), title, fill="black")
    draw.text((8, 27), y_label, fill="black")
    draw.text((width // 2 - draw.textlength(x_label) // 2, height - 20), x_label, fill="black")
    return np.asarray(picture)


def points_plot(samples, reference, size=256):
    """A picture of 1-D or 2-D samples (white) over reference samples (grey), for the toy datasets.

    2-D: a scatter plot on the square that holds both sets. 1-D: two overlaid histograms.
    """
    samples, reference = np.asarray(samples, np.float32), np.asarray(reference, np.float32)
    both = np.concatenate([samples, reference])
    both = both[np.isfinite(both).all(axis=1)]
    picture = np.zeros((size, size), np.uint8)
    if not len(both):  # nothing finite to draw
        return picture[..., None]
    low, high = both.min(axis=0), both.max(axis=0)
    # float32 on numpy 1 and 2 alike: the browser page (export/web_assets) repeats these sums
    margin = np.float32(0.05) * (high - low).max() + np.float32(1e-6)
    low, high = low - margin, high + margin
    # one point far from 0: the margin vanishes in float32 and the box has no width
    span = np.where(high > low, high - low, np.float32(1))

    def pixels(points, axis):
        # NaN only where float32 overflows (|x| near 3e38): drawn at the edge, not at a wrapped index
        scaled = np.nan_to_num((points[:, axis] - low[axis]) / span[axis] * (size - 1), nan=0.0)
        return np.clip(scaled, 0, size - 1).astype(int)

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


def read_picture(path, height, width, channels):
    """The image file at `path` as uint8 pixels (height, width, channels), channels 1 (grey) or 3 (RGB).

    Any common pillow mode is converted without clipping: 16-bit images are scaled from their 0-65535
    range, transparent pixels become black, CMYK and palettes become RGB. Other modes (LAB, HSV, ...)
    and unreadable files are refused with PictureError.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pillow's notes on damaged metadata: what matters is the pixels
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a huge image is refused, not warned of
            with Image.open(path) as image:
                image.load()  # the pixels stay in memory once the file is closed
    except _DECODING_ERRORS as error:
        raise PictureError(f"cannot read image {shortened_repr(str(path), 200)}: "
                           f"{shortened_repr(str(error) or type(error).__name__, 200)}") from None
    picture = _as_eight_bit(image, path).convert("L" if channels == 1 else "RGB").resize((width, height),
                                                                                        Image.BILINEAR)
    return np.asarray(picture, np.uint8).reshape(height, width, channels)


def _as_eight_bit(image, path):
    """`image` in an 8-bit mode that pillow converts to grey or RGB as it is (see read_picture)."""
    if image.mode in ALPHA_MODES or (image.mode == "P" and "transparency" in image.info):
        black = Image.new("RGBA", image.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, image.convert("RGBA"))
    if image.mode in EIGHT_BIT_MODES:
        return image
    if image.mode in SIXTEEN_BIT_MODES or image.mode in WIDE_MODE_RANGES:
        values = np.asarray(image, np.float32)
        if not np.isfinite(values).all() or values.min() < 0:
            raise PictureError(f"image {shortened_repr(str(path), 200)} ({image.mode}) holds negative, NaN or "
                               "infinite values: save it as an 8- or 16-bit image")
        ranges = (65535,) if image.mode in SIXTEEN_BIT_MODES else WIDE_MODE_RANGES[image.mode]
        full_scale = next((top for top in ranges if values.max() <= top), None)
        if full_scale is None:
            raise PictureError(f"image {shortened_repr(str(path), 200)} ({image.mode}) holds values up to "
                               f"{values.max():.6g}, beyond 16 bits: save it as an 8- or 16-bit image")
        return Image.fromarray(np.rint(values * (255 / full_scale)).astype(np.uint8))
    raise PictureError(f"image {shortened_repr(str(path), 200)} has pixel mode {image.mode!r}, which the zoo does "
                       "not convert: save it as an 8-bit RGB or greyscale PNG")
