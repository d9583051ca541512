"""`python -m export web` in a real browser: headless Chromium (Debian's, driven through Debian's
chromedriver; nothing is downloaded) opens the site from 127.0.0.1 and must draw what
zoo.runtime.OnnxGenerator computes for the same latents, to within one grey level.

The browser tests skip where chromium, chromedriver or npm are missing (.ci/run installs them). Set
GAN_ZOO_WEB_SCREENSHOT=docs/web-page.png to refresh the README's picture of the page.
"""

import base64
import functools
import http.server
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading

import numpy as np
import pytest
from PIL import Image

from zoo.runtime import OnnxGenerator
from export.web import build_site, write_latents
from zoo.classifier import CLASS_NAMES
from zoo.grid import image_grid, points_plot, save_png
from zoo.hub import REPOSITORY_HUB
from zoo.toys import TOY_SAMPLES, plot_reference

MODELS = {"noise": "gan-fashion-mnist", "conditional": "cgan-fashion-mnist",
          "translation": "cyclegan-sandal-sneaker-a2b", "points": "gan-pack4-grid25"}
CHROMIUM, CHROMEDRIVER, NPM = shutil.which("chromium"), shutil.which("chromedriver"), shutil.which("npm")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE_TIMEOUT_SECONDS = 60
RESAMPLES = 5


def hub_file(kind):
    return os.path.join(REPOSITORY_HUB, MODELS[kind], "generator.onnx")


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """One site per kind of generator, served from 127.0.0.1: the base URL."""
    if NPM is None:
        pytest.skip("npm is not installed (.ci/run installs it): it installs onnxruntime-web for the site")
    root = tmp_path_factory.mktemp("sites")
    for kind, name in MODELS.items():
        build_site(name, str(root / kind))

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER)) if path is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (.ci/run installs them: apt-get install chromium "
                    "chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,880"):
        options.add_argument(argument)
    # the driver's path given: Selenium Manager, which would download one, is not started
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser, url):
    browser.get(url)
    return wait_for(browser, "page.ready")


def wait_for(browser, condition):
    """Wait until the page's `generatorPage` state satisfies `condition` (a JS expression over its fields);
    the page's own error message fails the test at once."""
    from selenium.webdriver.support.wait import WebDriverWait

    def state(driver):
        page = driver.execute_script(f"const page = window.generatorPage; "
                                     f"return page && (page.error || ({condition})) ? page : null;")
        if page and page["error"]:
            pytest.fail(f"the page failed: {page['error']}")
        return page
    return WebDriverWait(browser, PAGE_TIMEOUT_SECONDS).until(state)


def canvas_pixels(browser, canvas_id):
    """A canvas's pixels as uint8 (H, W, 3), read losslessly through a PNG."""
    url = browser.execute_script(f"return document.getElementById('{canvas_id}').toDataURL('image/png');")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as picture:
        return np.asarray(picture.convert("RGB"))


def grey_levels_apart(canvas, images):
    """Largest difference, in grey levels, between a canvas and image_grid(images) (uint8, one channel)."""
    expected = np.repeat(image_grid(images), 3, axis=-1).astype(int)
    assert canvas.shape == expected.shape
    return int(np.abs(canvas.astype(int) - expected).max())


def latents_of(site):
    with open(os.path.join(site, "latents.json")) as f:
        return np.array(json.load(f)["z"], np.float32)


def test_noise_page_draws_pythons_grid_for_pythons_latents(browser, sites, tmp_path):
    root, url = sites
    generator = OnnxGenerator(hub_file("noise"), providers=["CPUExecutionProvider"])
    page = open_page(browser, f"{url}/noise/index.html")
    first_image_ms = page["firstImageMs"]
    difference = grey_levels_apart(canvas_pixels(browser, "grid"),
                                   generator.sample(16, seed=0))  # latents.json: OnnxGenerator.latents(16, 0)
    assert difference <= 1

    resample_ms, previous = [], canvas_pixels(browser, "grid")
    for renders in range(2, 2 + RESAMPLES):
        browser.find_element("id", "resample").click()
        resample_ms.append(wait_for(browser, f"page.renders >= {renders}")["lastRunMs"])
        current = canvas_pixels(browser, "grid")
        assert current.shape == previous.shape and (current != previous).any(), "resampling changed nothing"
        previous = current
    assert browser.find_element("id", "seed").get_attribute("value") == str(1 + RESAMPLES)

    # any latents written from Python: the page shows OnnxGenerator.sample(n, seed)
    write_latents(generator, str(root / "noise" / "seven.json"), 9, seed=7)
    open_page(browser, f"{url}/noise/index.html?latents=seven.json")
    assert grey_levels_apart(canvas_pixels(browser, "grid"), generator.sample(9, seed=7)) <= 1
    print(f"\nnoise: {difference} grey level(s) from Python; first image {first_image_ms:.0f} ms after opening "
          f"the page, resample {statistics.median(resample_ms):.0f} ms (median of {RESAMPLES})")


def test_conditional_page_draws_the_picked_class_and_walks(browser, sites, tmp_path):
    root, url = sites
    generator = OnnxGenerator(hub_file("conditional"), providers=["CPUExecutionProvider"])
    z = latents_of(root / "conditional")
    open_page(browser, f"{url}/conditional/index.html")
    options = browser.find_elements("css selector", "#class option")
    assert [option.text for option in options] == list(CLASS_NAMES)
    assert grey_levels_apart(canvas_pixels(browser, "grid"), generator.generate(z, labels=0, output="uint8")) <= 1

    options[7].click()  # Sneaker
    wait_for(browser, "page.renders >= 2")
    difference = grey_levels_apart(canvas_pixels(browser, "grid"), generator.generate(z, labels=7, output="uint8"))
    assert difference <= 1
    # before a walk, the walk view shows where it starts: the grid's first image
    assert grey_levels_apart(canvas_pixels(browser, "walk-view"),
                             generator.generate(z[:1], labels=7, output="uint8")) <= 1

    browser.find_element("id", "walk").click()
    shown = wait_for(browser, "page.walkFrames >= 1")["walkFrames"]
    early = canvas_pixels(browser, "walk-view")
    wait_for(browser, f"page.walkFrames >= {shown + 6}")
    later = canvas_pixels(browser, "walk-view")
    browser.find_element("id", "walk").click()  # stop
    assert (early != later).any(), "the walk does not move"

    screenshot = tmp_path / "web-page.png"
    browser.save_screenshot(str(screenshot))
    if os.environ.get("GAN_ZOO_WEB_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["GAN_ZOO_WEB_SCREENSHOT"])
    print(f"\nconditional: {difference} grey level(s) from Python")


def test_cyclegan_page_translates_an_uploaded_image(browser, sites, tmp_path):
    root, url = sites
    sandal = OnnxGenerator(hub_file("conditional"), providers=["CPUExecutionProvider"]).sample(1, seed=3, labels=5)
    upload = tmp_path / "sandal.png"
    save_png(sandal[0], str(upload))
    open_page(browser, f"{url}/translation/index.html")
    assert "Sandal" in browser.find_element("id", "upload-label").text

    browser.find_element("id", "upload").send_keys(str(upload))
    wait_for(browser, "page.renders >= 1")
    assert grey_levels_apart(canvas_pixels(browser, "input"), sandal) == 0
    translator = OnnxGenerator(hub_file("translation"), providers=["CPUExecutionProvider"])
    difference = grey_levels_apart(canvas_pixels(browser, "output"), translator.translate(sandal))
    assert difference <= 1
    print(f"\ntranslation: {difference} grey level(s) from Python")


def test_toy_page_plots_pythons_points_over_real_ones(browser, sites):
    root, url = sites
    generator = OnnxGenerator(hub_file("points"), providers=["CPUExecutionProvider"])
    page = open_page(browser, f"{url}/points/index.html")
    # latents.json: OnnxGenerator.latents(TOY_SAMPLES, 0), the points of the hub's samples.png; onnxruntime-web
    # may round a last bit otherwise than this machine's onnxruntime, and a point on a pixel's edge would move:
    # the plot is compared with Python's plot of the page's own points, and those with Python's
    points = np.array(page["points"], np.float32).reshape(-1, 2)
    np.testing.assert_allclose(points, generator.sample(TOY_SAMPLES, seed=0, output="float"), rtol=1e-5, atol=1e-5)
    expected = np.repeat(points_plot(points, plot_reference("grid25", 2)), 3, axis=-1)
    np.testing.assert_array_equal(canvas_pixels(browser, "grid"), expected)
    assert "2500 points (white) over 2500 real points (grey)" in browser.find_element("id", "grid-caption").text
    assert not any(browser.find_element("id", part).is_displayed() for part in ("walk", "walk-view"))

    browser.find_element("id", "resample").click()  # the page's own latents for seed 2
    wait_for(browser, "page.renders >= 2")
    resampled = canvas_pixels(browser, "grid")
    assert resampled.shape == expected.shape and (resampled != expected).any(), "resampling changed nothing"
    resampled_points = np.array(wait_for(browser, "true")["points"], np.float32).reshape(-1, 2)
    np.testing.assert_array_equal(resampled, np.repeat(points_plot(resampled_points, plot_reference("grid25", 2)),
                                                       3, axis=-1))
    print(f"\npoints: the plot of {TOY_SAMPLES} points equals Python's")


def export_web(args, **environment):
    """`python -m export web ARGS` in a fresh interpreter (this one has TensorFlow loaded by conftest):
    (exit code, stderr, whether TensorFlow was imported)."""
    code = ("import sys\nfrom export.__main__ import main\ncode = main(sys.argv[1:])\n"
            "print('tensorflow' in sys.modules)\nsys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code, "web", *args], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, **environment})
    return result.returncode, result.stderr, result.stdout.strip().splitlines()[-1] == "True"


def test_export_web_command_writes_a_site_without_tensorflow(tmp_path):
    if NPM is None:
        pytest.skip("npm is not installed (.ci/run installs it)")
    code, stderr, imported_tensorflow = export_web([hub_file("noise"), "-o", str(tmp_path / "site"), "-n", "4"])
    assert code == 0, stderr
    assert not imported_tensorflow
    with open(tmp_path / "site" / "model.json") as f:
        assert json.load(f)["kind"] == "noise"
    assert len(latents_of(tmp_path / "site")) == 4
    assert sorted(os.listdir(tmp_path / "site" / "ort")) == sorted(
        ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"])


def test_export_web_without_npm_says_so_in_one_line(tmp_path):
    # an empty cache, and a PATH with python but no npm
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    os.symlink(sys.executable, bin_folder / "python")
    code, stderr, _ = export_web([hub_file("noise"), "-o", str(tmp_path / "site")], PATH=str(bin_folder),
                                 GAN_ZOO_CACHE=str(tmp_path / "cache"))
    assert code == 2
    assert stderr.strip().count("\n") == 0 and "npm is not installed" in stderr


def test_export_web_refuses_a_count_out_of_range_in_one_line(tmp_path):
    for count in ("0", "10001"):
        result = subprocess.run([sys.executable, "-m", "export", "web", hub_file("noise"), "-o", str(tmp_path / "site"),
                                 "-n", count], capture_output=True, text=True, cwd=ROOT)
        assert result.returncode == 2 and result.stderr.strip().count("\n") == 0
        assert "the first grid takes 1 to 10,000 samples" in result.stderr and "lower --count" in result.stderr
    assert not (tmp_path / "site").exists()
