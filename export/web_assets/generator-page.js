// The generator page: runs generator.onnx in this browser with onnxruntime-web (WebAssembly), loading
// nothing but this site's files. model.json (written by `python -m export web`) says what the generator is.
// Pixels follow zoo.runtime.to_uint8, grids zoo.grid.image_grid and a toy's plots zoo.grid.points_plot, so the
// page shows what Python computes for the same latents; latents.json (or ?latents=FILE.json) holds Python's
// latents for the first grid, and real.json a toy's real points.
import * as ort from "./ort/ort.wasm.min.mjs";

const GRID_PADDING = 2;  // zoo.grid.image_grid's
const WALK_STEPS = 24;  // frames from one image of the grid to the next
const WALK_FRAME_MS = 40;
const PLOT_SIZE = 256, REAL_SHADE = 110, GENERATED_SHADE = 255, PLOT_SCALE = 2;  // zoo.grid.points_plot's

// For scripts and the browser test: what the page has done, and how long it took.
// A toy's page keeps its last points (x0, y0, x1, y1, ...) in `points`.
const page = (window.generatorPage = {
  ready: false, renders: 0, walkFrames: 0, firstImageMs: null, lastRunMs: null, error: null, points: null,
});

const element = (id) => document.getElementById(id);
const f32 = Math.fround;
let model, session, latents, realPoints;
let walking = false, walkNumber = 0;  // each start or stop of a walk ends the walk before

// --- pixels, exactly as Python makes them ----------------------------------------------------------------

// numpy's rint: halves go to the even neighbour
function roundHalfEven(x) {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

// zoo.runtime.to_uint8 in numpy's float32 arithmetic: (x - low) / (high - low) * 255, rounded, clipped
function toUint8(value, low, high) {
  const scaled = f32(f32(f32(value - low) / f32(high - low)) * 255);
  return Math.min(255, Math.max(0, roundHalfEven(scaled)));
}

// OnnxGenerator.translate's uint8 -> model range, in float32: x / 255 * (high - low) + low
function fromUint8(value, low, high) {
  return f32(f32(f32(value / 255) * f32(high - low)) + low);
}

// zoo.grid.image_grid: images (n, H, W, C) in the model's range tiled row by row, ceil(sqrt(n)) columns,
// GRID_PADDING black pixels around each; drawn 1:1 on the canvas and enlarged by CSS (data-scale)
function drawImages(canvas, values, [count, height, width, channels]) {
  const [low, high] = model.value_range;
  const columns = Math.ceil(Math.sqrt(count)), rows = Math.ceil(count / columns);
  canvas.width = columns * (width + GRID_PADDING) + GRID_PADDING;
  canvas.height = rows * (height + GRID_PADDING) + GRID_PADDING;
  canvas.style.width = `${canvas.width * Number(canvas.dataset.scale)}px`;
  const picture = new ImageData(canvas.width, canvas.height);
  for (let alpha = 3; alpha < picture.data.length; alpha += 4) picture.data[alpha] = 255;
  for (let image = 0; image < count; image++) {
    const top = GRID_PADDING + Math.floor(image / columns) * (height + GRID_PADDING);
    const left = GRID_PADDING + (image % columns) * (width + GRID_PADDING);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const source = ((image * height + y) * width + x) * channels;
        const target = ((top + y) * canvas.width + left + x) * 4;
        for (let rgb = 0; rgb < 3; rgb++) {
          picture.data[target + rgb] = toUint8(values[source + (channels === 1 ? 0 : rgb)], low, high);
        }
      }
    }
  }
  canvas.getContext("2d").putImageData(picture, 0, 0);
}

// zoo.grid.points_plot for 2-D points, in numpy's float32 arithmetic: generated points (white) over real ones
// (grey) on the box that holds both, widened on every side by 5 % of its longer side; non-finite points skipped,
// and none at all draws a black plot
function drawPoints(canvas, generated) {
  const sets = [[realPoints, REAL_SHADE], [generated, GENERATED_SHADE]];
  const finite = (points, i) => Number.isFinite(points[2 * i]) && Number.isFinite(points[2 * i + 1]);
  const low = [Infinity, Infinity], high = [-Infinity, -Infinity];
  for (const [points] of sets) {
    for (let i = 0; i < points.length / 2; i++) {
      if (!finite(points, i)) continue;
      for (const axis of [0, 1]) {
        low[axis] = Math.min(low[axis], points[2 * i + axis]);
        high[axis] = Math.max(high[axis], points[2 * i + axis]);
      }
    }
  }
  const longer = Math.max(f32(high[0] - low[0]), f32(high[1] - low[1]));
  const margin = f32(f32(f32(0.05) * longer) + f32(1e-6));
  const from = low.map((value) => f32(value - margin)), to = high.map((value) => f32(value + margin));
  const span = [0, 1].map((axis) => (to[axis] > from[axis] ? f32(to[axis] - from[axis]) : 1));  // see points_plot
  const pixel = (value, axis) => {
    const scaled = f32(f32(f32(value - from[axis]) / span[axis]) * (PLOT_SIZE - 1));
    return Number.isNaN(scaled) ? 0 : Math.trunc(Math.min(PLOT_SIZE - 1, Math.max(0, scaled)));
  };
  canvas.width = canvas.height = PLOT_SIZE;
  canvas.style.width = `${PLOT_SIZE * PLOT_SCALE}px`;
  const picture = new ImageData(PLOT_SIZE, PLOT_SIZE);
  for (let alpha = 3; alpha < picture.data.length; alpha += 4) picture.data[alpha] = 255;
  for (const [points, shade] of sets) {
    for (let i = 0; i < points.length / 2; i++) {
      if (!finite(points, i)) continue;
      const target = ((PLOT_SIZE - 1 - pixel(points[2 * i + 1], 1)) * PLOT_SIZE + pixel(points[2 * i], 0)) * 4;
      picture.data.fill(shade, target, target + 3);
    }
  }
  canvas.getContext("2d").putImageData(picture, 0, 0);
}

// --- latents ----------------------------------------------------------------------------------------------

// The page's own seeded N(0, 1) latents (mulberry32 and Box-Muller): a seed gives the same grid in every
// browser, but not numpy's stream; Python's latents come in through a latents file.
function seededLatents(count, seed) {
  let state = seed >>> 0;
  const uniform = () => {  // mulberry32: [0, 1)
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const z = new Float32Array(count * model.latent_dim);
  for (let i = 0; i < z.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - uniform())), angle = 2 * Math.PI * uniform();
    z[i] = radius * Math.cos(angle);
    if (i + 1 < z.length) z[i + 1] = radius * Math.sin(angle);
  }
  return { z, count, source: `seed ${seed} (the page's generator)` };
}

async function latentsFile(url) {
  const file = await fetchJson(url);
  if (!file.z.every((row) => row.length === model.latent_dim)) {
    throw new Error(`${url}: every latent needs ${model.latent_dim} values`);
  }
  const source = `${url}: ${file.source ?? "latents"}`;
  return { z: Float32Array.from(file.z.flat()), count: file.z.length, source };
}

// zoo.runtime.slerp: `steps` points on the great circle from z0 to z1, in float64 then float32
function slerp(z0, z1, steps) {
  let dot = 0, norm0 = 0, norm1 = 0;
  for (let i = 0; i < z0.length; i++) {
    dot += z0[i] * z1[i]; norm0 += z0[i] * z0[i]; norm1 += z1[i] * z1[i];
  }
  const omega = Math.acos(Math.min(1, Math.max(-1, dot / (Math.sqrt(norm0) * Math.sqrt(norm1)))));
  const path = new Float32Array(steps * z0.length);
  for (let step = 0; step < steps; step++) {
    const t = steps === 1 ? 0 : step / (steps - 1);
    // (anti)parallel vectors: the sine weights are 0/0, a straight line is exact
    const [w0, w1] = omega < 1e-6 ? [1 - t, t]
      : [Math.sin((1 - t) * omega) / Math.sin(omega), Math.sin(t * omega) / Math.sin(omega)];
    for (let i = 0; i < z0.length; i++) path[step * z0.length + i] = w0 * z0[i] + w1 * z1[i];
  }
  return path;
}

// --- running the generator --------------------------------------------------------------------------------

// A WebAssembly session runs one inference at a time: each run waits for the one before
let queue = Promise.resolve();
function run(feeds) {
  const result = queue.then(() => session.run(feeds));
  queue = result.catch(() => {});
  return result.then((outputs) => outputs[model.output]);
}

function generate(z, count) {
  const feeds = { z: new ort.Tensor("float32", z, [count, model.latent_dim]) };
  if (model.kind === "conditional") {
    const label = Number(element("class").value);
    feeds.label = new ort.Tensor("int32", new Int32Array(count).fill(label), [count]);
  }
  return run(feeds);
}

async function showGrid(newLatents) {
  const started = performance.now();
  latents = newLatents;
  const images = await generate(latents.z, latents.count);
  if (model.point_shape) {
    drawPoints(element("grid"), images.data);
    page.points = Array.from(images.data);
  } else {
    drawImages(element("grid"), images.data, images.dims);
    if (!walking) showWalkFrame(images, 0);  // where a walk starts
  }
  page.lastRunMs = performance.now() - started;
  page.firstImageMs ??= performance.now();  // since the page was opened
  page.renders += 1;
  const what = model.kind === "conditional" ? `${model.classes[element("class").value]}, ` : "";
  element("grid-caption").textContent = model.point_shape
    ? `${latents.count} points (white) over ${realPoints.length / 2} real points (grey): ${what}${latents.source}`
    : `${latents.count} images: ${what}${latents.source}`;
  status(`first image ${page.firstImageMs.toFixed(0)} ms after opening the page; ` +
    `this grid ${page.lastRunMs.toFixed(0)} ms`);
}

async function walk(number) {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const going = () => walking && number === walkNumber;
  for (let from = 0; going(); from = (from + 1) % latents.count) {
    const { z, count } = latents, dim = model.latent_dim, to = (from + 1) % count;
    const start = z.subarray(from * dim, (from + 1) * dim), end = z.subarray(to * dim, (to + 1) * dim);
    const frames = await generate(slerp(start, end, WALK_STEPS), WALK_STEPS);
    for (let frame = 0; frame < WALK_STEPS && going(); frame++) {
      showWalkFrame(frames, frame);
      page.walkFrames += 1;
      await sleep(WALK_FRAME_MS);
    }
  }
}

function showWalkFrame(images, index) {
  const [, height, width, channels] = images.dims, size = height * width * channels;
  const image = images.data.subarray(index * size, (index + 1) * size);
  drawImages(element("walk-view"), image, [1, height, width, channels]);
}

async function translate(file) {
  const started = performance.now();
  const [height, width, channels] = model.image_shape, [low, high] = model.value_range;
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const scratch = new OffscreenCanvas(width, height).getContext("2d");
  // resized by the browser (`python -m zoo translate` uses PIL's bilinear: other sizes may differ slightly)
  scratch.drawImage(bitmap, 0, 0, width, height);
  const rgba = scratch.getImageData(0, 0, width, height).data;
  const image = new Float32Array(height * width * channels);
  for (let pixel = 0; pixel < height * width; pixel++) {
    const [r, g, b] = rgba.subarray(pixel * 4, pixel * 4 + 3);
    // one channel: PIL's convert("L"), ITU-R 601-2 luma in 16-bit fixed point
    const values = channels === 1 ? [(r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16] : [r, g, b];
    values.forEach((value, channel) => { image[pixel * channels + channel] = fromUint8(value, low, high); });
  }
  const dims = [1, height, width, channels];
  drawImages(element("input"), image, dims);
  const translated = await run({ image: new ort.Tensor("float32", image, dims) });
  drawImages(element("output"), translated.data, translated.dims);
  page.lastRunMs = performance.now() - started;
  page.renders += 1;
  status(`${file.name} translated in ${page.lastRunMs.toFixed(0)} ms`);
}

// --- the page ---------------------------------------------------------------------------------------------

function status(text) {
  element("status").textContent = text;
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function describe() {
  document.title = `${model.name}: gan-zoo generator`;
  element("title").textContent = model.name;
  const what = model.kind === "translation" ? `translates ${model.domains[0]} into ${model.domains[1]}`
    : `${model.kind} generator, ${model.latent_dim}-d latents`;
  const makes = model.point_shape ? `${model.point_shape[0]}-d points`
    : `${model.image_shape.join("×")} images in [${model.value_range.join(", ")}]`;
  element("about").textContent = `${model.variant} on ${model.dataset}: ${what}; ${makes}`;
}

function enable(...ids) {
  for (const id of ids) element(id).disabled = false;
}

async function setUpSampling() {
  element("sampling").hidden = false;
  if (model.kind === "conditional") {
    element("class-picker").hidden = false;
    element("class").append(...model.classes.map((name, label) => new Option(name, label)));
    element("class").addEventListener("change", () => showGrid(latents).catch(fail));
  }
  const sampleSeed = () => showGrid(seededLatents(latents.count, Number(element("seed").value))).catch(fail);
  element("sample").addEventListener("click", sampleSeed);
  element("resample").addEventListener("click", () => {
    element("seed").value = Number(element("seed").value) + 1;
    sampleSeed();
  });
  if (model.point_shape) {  // a plot of many points: no walk from one sample to the next
    realPoints = Float32Array.from((await fetchJson("real.json")).points.flat());
    element("walk").hidden = element("walk-figure").hidden = true;
  }
  element("walk").addEventListener("click", () => {
    walking = !walking;
    walkNumber += 1;
    element("walk").textContent = walking ? "Stop" : "Walk";
    if (walking) walk(walkNumber).catch(fail);
  });
  await showGrid(await latentsFile(new URLSearchParams(location.search).get("latents") ?? "latents.json"));
  enable("sample", "resample", "walk");
}

function setUpTranslation() {
  element("translation").hidden = false;
  element("upload-label").textContent = `An image of a ${model.domains[0]} to translate`;
  element("input-caption").textContent = `${model.domains[0]}, as the generator sees it`;
  element("output-caption").textContent = `translated into a ${model.domains[1]}`;
  element("upload").addEventListener("change", () => {
    if (element("upload").files.length) translate(element("upload").files[0]).catch(fail);
  });
  enable("upload");
  status("choose an image to translate");
}

function fail(error) {
  page.error = String(error.message ?? error);
  status(`error: ${page.error}`);
}

async function main() {
  model = await fetchJson("model.json");
  describe();
  ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;  // this site's copy, never a CDN
  session = await ort.InferenceSession.create("generator.onnx", { executionProviders: ["wasm"] });
  if (model.kind === "translation") setUpTranslation();
  else await setUpSampling();
  page.ready = true;
}

main().catch(fail);
