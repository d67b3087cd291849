/* VAE course, interactive figures: chapter 4's interpolation slider.
 *
 * A few test images; the reader picks two, and a slider walks the straight line
 * (1 - t) mu_a + t mu_b between their posterior means, decoding each point in the page.
 */
(function () {
  "use strict";
  const W = window.vaeWidgets;

  W.register("interpolation", "vae_2d", function build(root, data) {
    const decoder = W.decoderOf(data);
    const thumbs = data.thumbnails;
    const mu = W.array(thumbs.mu);
    const pictures = W.array(thumbs.image);
    const count = thumbs.index.length;
    const name = (k) => data.class_names[thumbs.label[k]];
    let pair = [0, 1]; // positions of the "from" and "to" thumbnails
    let t = 0;
    let probabilities = null;
    let code = null;

    const buttons = thumbs.index.map((_, k) => {
      const canvas = W.el("canvas", { class: "vae-image vae-image-thumb" });
      W.paintImages(canvas, pictures.subarray(k * 784, (k + 1) * 784), 1, false);
      const button = W.el("button", { type: "button", class: "vae-thumb", "aria-label": "test image: " + name(k) },
        canvas, W.el("span", { class: "vae-thumb-name" }, name(k)), W.el("span", { class: "vae-badge" }));
      // The last two images picked are the path's ends: the earlier one is "from", the later "to".
      button.addEventListener("click", () => { if (k !== pair[1]) select(pair[1], k); });
      return button;
    });
    const slider = W.el("input", { type: "range", min: "0", max: "1", step: "0.01", value: "0", class: "vae-slider",
      "aria-label": "interpolation position t" });
    const tText = W.el("output", { class: "vae-readout" });
    // The path's two ends, decoded: the model's reconstructions of the two picked images.
    const ends = ["from", "to"].map((end) => W.el("canvas", { class: "vae-image vae-image-thumb", role: "img",
      "aria-label": "reconstruction of the \u201c" + end + "\u201d image" }));
    const image = W.el("canvas", { class: "vae-image vae-image-large", role: "img", "aria-label": "decoded image" });
    const caption = W.el("p", { class: "vae-readout", "aria-live": "polite" });
    root.append(
      W.el("p", { class: "vae-widget-title" }, "Interpolate between two test images"),
      W.el("div", { class: "vae-thumbs", role: "group", "aria-label": "test images to interpolate between" }, ...buttons),
      W.el("div", { class: "vae-row" },
        W.el("div", { class: "vae-output" }, image, caption),
        W.el("div", { class: "vae-slider-column" },
          W.el("div", { class: "vae-slider-ends" }, ends[0], slider, ends[1]),
          W.el("label", { class: "vae-slider-label" }, "t ", tText),
          W.el("p", { class: "vae-hint" },
            "Click two images: the path runs from the first you pick (\u201cfrom\u201d) to the second (\u201cto\u201d). " +
            "Slide t from 0 to 1: the image is the decoder's output at (1 \u2212 t) \u03bc_from + t \u03bc_to, " +
            "computed in your browser. At t = 0 and t = 1 it is the model's reconstruction of each image, " +
            "shown small at the slider's ends.")))
    );

    function render() {
      const [a, b] = pair;
      code = [0, 1].map((j) => (1 - t) * mu[2 * a + j] + t * mu[2 * b + j]);
      probabilities = decoder.decode(code);
      W.paintImages(image, probabilities, 1, true);
      tText.textContent = "= " + t.toFixed(2);
      caption.textContent = name(a) + " \u2192 " + name(b) + ": z = (" + W.fmt(code[0], 2) + ", " + W.fmt(code[1], 2) + ")";
      buttons.forEach((button, k) => {
        const role = k === a ? "from" : k === b ? "to" : "";
        button.setAttribute("aria-pressed", role ? "true" : "false");
        button.dataset.role = role;
        button.querySelector(".vae-badge").textContent = role;
      });
    }

    function select(a, b) {
      if (!(a >= 0 && b >= 0 && a < count && b < count && a !== b)) throw new Error("select: two different positions < " + count);
      pair = [a, b];
      pair.forEach((k, j) => W.paintImages(ends[j], decoder.decode([mu[2 * k], mu[2 * k + 1]]), 1, true));
      render();
    }

    function setT(value) {
      t = Math.min(1, Math.max(0, Number(value)));
      slider.value = String(t);
      render();
    }

    slider.addEventListener("input", () => setT(slider.value));
    select(0, 1);
    return {
      select,
      setT,
      /** Test-set indices of the "from" and "to" images. */
      selection: () => pair.map((k) => thumbs.index[k]),
      t: () => t,
      z: () => code.slice(),
      probabilities: () => Array.from(probabilities),
    };
  });
})();
