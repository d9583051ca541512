import numpy as np
from PIL import Image

from zoo.grid import image_grid, points_plot, save_png


def test_image_grid_tiles_row_by_row():
    images = np.stack([np.full((4, 4, 1), i * 10, np.uint8) for i in range(6)])
    grid = image_grid(images, columns=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 1)
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 10 and grid[6, 1, 0] == 30


def test_points_plot_draws_2d_and_1d_and_ignores_nan(tmp_path):
    reference = np.random.default_rng(0).normal(size=(100, 2))
    samples = np.vstack([reference[:50] + 0.1, [[np.nan, 0.0]]])
    picture = points_plot(samples, reference, size=64)
    assert picture.shape == (64, 64, 1) and (picture == 255).any() and (picture == 110).any()
    assert points_plot(samples[:, :1], reference[:, :1], size=64).max() > 0
    save_png(picture, tmp_path / "plot.png")
    with Image.open(tmp_path / "plot.png") as image:
        assert image.size == (64, 64)
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]  # no temporary file left behind


def test_points_plot_of_degenerate_sets_is_a_picture_not_an_error():
    nothing = np.zeros((0, 2), np.float32)
    assert points_plot(np.full((3, 2), np.nan), nothing).max() == 0  # nothing finite: a black plot
    # one point far from 0: its float32 margin vanishes, the box has no width; drawn in a corner
    collapsed = points_plot(np.full((5, 2), 100.0), nothing)[..., 0]
    assert list(zip(*collapsed.nonzero())) == [(255, 0)]
