/* VAE course, interactive figures: the shared core (plain JavaScript, no dependencies).
 *
 * Every element with a data-vae-widget="<kind>" attribute becomes a widget once the page has
 * loaded: the core loads the data file that kind needs (data/<name>.js, next to this file;
 * a <script> element rather than fetch, so the book also works from file://) and hands the
 * element and the data to the builder that explorer.js, interpolation.js or
 * rate-distortion.js registered. Pages without such elements load no data and do nothing.
 *
 * window.vaeWidgets is the page's API: register/receive (used by the other files), the
 * array and drawing helpers, decode(z) with the 2-D model's decoder, and `ready`, a promise
 * that settles once every widget of the page is built (the browser tests await it).
 */
(function () {
  "use strict";

  const here = document.currentScript ? document.currentScript.src : document.baseURI;
  const builders = {}; // kind -> {dataName, build}
  const loads = {}; // data name -> {promise, resolve, reject}
  let resolveReady;
  const ready = new Promise((resolve) => { resolveReady = resolve; });

  // -- data files ------------------------------------------------------------------------
  function slot(name) {
    if (!loads[name]) {
      const entry = {};
      entry.promise = new Promise((resolve, reject) => { entry.resolve = resolve; entry.reject = reject; });
      loads[name] = entry;
    }
    return loads[name];
  }

  /** Called by a data file: hands over its payload. */
  function receive(name, payload) {
    slot(name).resolve(payload);
  }

  /** The payload of data file `name`, loaded once per page. */
  function load(name) {
    const entry = slot(name);
    if (!entry.requested) {
      entry.requested = true;
      const tag = document.createElement("script");
      tag.src = new URL("data/" + name + ".js", here).href;
      tag.async = true;
      tag.onerror = () => entry.reject(new Error("could not load " + tag.src));
      document.head.appendChild(tag);
    }
    return entry.promise;
  }

  // -- arrays: {dtype, shape, b64} with little-endian bytes (book/_tools/widget_format.py) --
  function halfToFloat(bits) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * Math.pow(2, -24); // subnormal
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * Math.pow(2, exponent - 15);
  }

  /** A typed array with the values of an encoded array (half floats widen to Float32Array). */
  function array(obj) {
    const text = atob(obj.b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const view = new DataView(bytes.buffer);
    const size = { float16: 2, float32: 4, uint8: 1, uint16: 2 }[obj.dtype];
    if (!size) throw new Error("unknown dtype " + obj.dtype);
    const n = bytes.length / size;
    const out = obj.dtype === "uint8" ? bytes : obj.dtype === "uint16" ? new Uint16Array(n) : new Float32Array(n);
    if (obj.dtype === "float16") for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
    if (obj.dtype === "float32") for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    if (obj.dtype === "uint16") for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
    out.shape = obj.shape;
    return out;
  }

  // -- the decoder: z -> Dense + ReLU -> Dense -> sigmoid (pixel probabilities) ------------
  class Decoder {
    constructor(weights) {
      this.k1 = array(weights["decoder.hidden.kernel"]);
      this.b1 = array(weights["decoder.hidden.bias"]);
      this.k2 = array(weights["decoder.out.kernel"]);
      this.b2 = array(weights["decoder.out.bias"]);
      [this.latent, this.hidden] = this.k1.shape;
      this.pixels = this.k2.shape[1];
    }

    /** Pixel probabilities (Float64Array, row-major 28 x 28) for one latent code z. */
    decode(z) {
      const { latent, hidden, pixels, k1, b1, k2, b2 } = this;
      if (z.length !== latent) throw new Error("z: expected " + latent + " numbers, got " + z.length);
      const out = Float64Array.from(b2);
      for (let i = 0; i < hidden; i++) {
        let h = b1[i];
        for (let j = 0; j < latent; j++) h += z[j] * k1[j * hidden + i];
        if (h <= 0) continue; // ReLU: a silent unit adds nothing
        const row = i * pixels;
        for (let p = 0; p < pixels; p++) out[p] += h * k2[row + p];
      }
      for (let p = 0; p < pixels; p++) out[p] = 1 / (1 + Math.exp(-out[p]));
      return out;
    }
  }

  const decoders = new WeakMap(); // payload -> Decoder, shared by the widgets of one page
  function decoderOf(payload) {
    if (!decoders.has(payload)) decoders.set(payload, new Decoder(payload.decoder));
    return decoders.get(payload);
  }

  // -- drawing -------------------------------------------------------------------------------
  /** Paint n gray images (values 0..255 or probabilities 0..1) side by side, 1-pixel gaps. */
  function paintImages(canvas, values, n, probabilities) {
    const side = 28;
    canvas.width = n * (side + 1) - 1;
    canvas.height = side;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(canvas.width, side);
    image.data.fill(255); // gaps white, as in the book's image grids
    for (let k = 0; k < n; k++) {
      for (let r = 0; r < side; r++) {
        for (let c = 0; c < side; c++) {
          const v = values[k * side * side + r * side + c];
          const g = probabilities ? Math.round(Math.min(1, Math.max(0, v)) * 255) : v;
          const o = 4 * (r * canvas.width + k * (side + 1) + c);
          image.data[o] = image.data[o + 1] = image.data[o + 2] = g;
        }
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  /** A new element: el("div", {class: "x", "aria-label": "y"}, child, "text", ...). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    node.append(...children);
    return node;
  }

  /** Colours of matplotlib's tab10, as chapter 4's latent_scatter uses. */
  const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  /** Round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
  function ticks(lo, hi, target) {
    const raw = (hi - lo) / (target || 5);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * step; v += step) out.push(Math.round(v / step) * step);
    return out;
  }

  /** A number for display, with a true minus sign. */
  function fmt(value, digits) {
    return value.toFixed(digits).replace("-", "\u2212");
  }

  // -- widgets -------------------------------------------------------------------------------
  /** Called by a widget file: kind `kind` is built by build(element, payload of dataName). */
  function register(kind, dataName, build) {
    builders[kind] = { dataName, build };
  }

  async function start(node) {
    const kind = node.getAttribute("data-vae-widget");
    const builder = builders[kind];
    try {
      if (!builder) throw new Error("no widget of kind " + JSON.stringify(kind));
      const payload = await load(builder.dataName);
      node.replaceChildren();
      node.vaeWidget = builder.build(node, payload);
      node.setAttribute("data-vae-state", "ready");
    } catch (err) {
      node.setAttribute("data-vae-state", "error");
      node.replaceChildren(el("p", { class: "vae-widget-error" }, "This interactive figure could not start: " + err.message));
      console.error("vae-widgets:", err);
    }
  }

  function init() {
    const nodes = Array.from(document.querySelectorAll("[data-vae-widget]"));
    Promise.all(nodes.map(start)).then(() => resolveReady(nodes.length));
  }

  /** Pixel probabilities of the 2-D reference model at z (loads its weights on first use). */
  async function decode(z) {
    return Array.from(decoderOf(await load("vae_2d")).decode(z));
  }

  window.vaeWidgets = { register, receive, load, array, Decoder, decoderOf, decode, paintImages, el, ticks, fmt, TAB10, ready };

  // The widget files load after this one; build once all of them have run.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else setTimeout(init, 0);
})();
