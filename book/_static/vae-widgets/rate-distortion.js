/* VAE course, interactive figures: chapter 6's rate-distortion curve.
 *
 * One point (R, D) per beta, from the reference models' test evaluation; hovering, focusing
 * or tapping a point shows that model's prior samples (the same z for every beta) and its
 * reconstructions of one test image per class (images precomputed by the exporter).
 */
(function () {
  "use strict";
  const W = window.vaeWidgets;
  const SVG = "http://www.w3.org/2000/svg";
  const WIDTH = 460;
  const HEIGHT = 300;
  const MARGIN = { left: 58, right: 16, top: 14, bottom: 44 };

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    node.append(...children);
    return node;
  }

  W.register("rate-distortion", "rate_distortion", function build(root, data) {
    const models = data.models;
    const inputs = W.array(data.inputs.image);
    const n = data.inputs.index.length;
    const rates = models.map((m) => m.rate);
    const dists = models.map((m) => m.distortion);
    const xr = [0, Math.max(...rates) * 1.1];
    const yr = [Math.min(...dists) - 10, Math.max(...dists) + 10]; // as the static plot's limits
    const toX = (r) => MARGIN.left + ((r - xr[0]) / (xr[1] - xr[0])) * (WIDTH - MARGIN.left - MARGIN.right);
    const toY = (d) => HEIGHT - MARGIN.bottom - ((d - yr[0]) / (yr[1] - yr[0])) * (HEIGHT - MARGIN.top - MARGIN.bottom);

    const plot = svg("svg", { class: "vae-rd-plot", viewBox: "0 0 " + WIDTH + " " + HEIGHT, role: "group",
      "aria-label": "rate-distortion curve: one point per beta; focus a point to see its model's images" });
    const axes = svg("g", { class: "vae-rd-axes" });
    for (const r of W.ticks(xr[0], xr[1], 6)) {
      axes.append(svg("line", { x1: toX(r), x2: toX(r), y1: MARGIN.top, y2: HEIGHT - MARGIN.bottom, class: "vae-rd-grid" }),
        svg("text", { x: toX(r), y: HEIGHT - MARGIN.bottom + 15, "text-anchor": "middle" }, W.fmt(r, 0)));
    }
    for (const d of W.ticks(yr[0], yr[1], 5)) {
      axes.append(svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: toY(d), y2: toY(d), class: "vae-rd-grid" }),
        svg("text", { x: MARGIN.left - 6, y: toY(d) + 4, "text-anchor": "end" }, W.fmt(d, 0)));
    }
    axes.append(
      svg("rect", { x: MARGIN.left, y: MARGIN.top, width: WIDTH - MARGIN.left - MARGIN.right,
        height: HEIGHT - MARGIN.top - MARGIN.bottom, class: "vae-rd-frame" }),
      svg("text", { x: (MARGIN.left + WIDTH - MARGIN.right) / 2, y: HEIGHT - 8, "text-anchor": "middle" },
        "rate R = KL(q(z|x) \u2016 p(z))  [nats]"),
      svg("text", { transform: "translate(14 " + (MARGIN.top + HEIGHT - MARGIN.bottom) / 2 + ") rotate(-90)",
        "text-anchor": "middle" }, "distortion D = \u2212E log p(x|z)  [nats]"));
    plot.append(axes);

    // The beta = 1 model's -ELBO as the line D + R = const, clipped to the axes by hand.
    const one = models.find((m) => m.beta === 1);
    if (one) {
      const c = one.rate + one.distortion;
      const r0 = Math.max(xr[0], c - yr[1]);
      const r1 = Math.min(xr[1], c - yr[0]);
      if (r1 > r0) {
        plot.append(svg("line", { x1: toX(r0), y1: toY(c - r0), x2: toX(r1), y2: toY(c - r1), class: "vae-rd-elbo" }),
          svg("text", { x: WIDTH - MARGIN.right - 6, y: MARGIN.top + 14, "text-anchor": "end", class: "vae-rd-note" },
            "dashed: D + R = " + c.toFixed(1) + " nats (the \u03b2 = 1 ELBO)"));
      }
    }
    const order = models.map((_, i) => i).sort((i, j) => models[i].rate - models[j].rate);
    plot.append(svg("polyline", { class: "vae-rd-curve",
      points: order.map((i) => toX(models[i].rate) + "," + toY(models[i].distortion)).join(" ") }));

    const points = models.map((m, i) => {
      const g = svg("g", { class: "vae-rd-point", tabindex: "0", role: "button",
        "aria-label": "beta " + m.beta + ": rate " + m.rate.toFixed(1) + " nats, distortion " + m.distortion.toFixed(1) + " nats" },
      svg("circle", { cx: toX(m.rate), cy: toY(m.distortion), r: 14, class: "vae-rd-hit" }), // a finger-sized target
      svg("circle", { cx: toX(m.rate), cy: toY(m.distortion), r: 5.5, class: "vae-rd-dot" }),
      svg("text", { x: toX(m.rate) + 8, y: toY(m.distortion) - 8 }, "\u03b2 = " + m.beta));
      for (const type of ["pointerenter", "focus", "click"]) g.addEventListener(type, () => show(i));
      g.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        if (!step) return;
        event.preventDefault();
        points[(i + step + models.length) % models.length].focus();
      });
      plot.append(g);
      return g;
    });

    const heading = W.el("p", { class: "vae-readout", "aria-live": "polite" });
    const rows = ["prior samples (the same z for every \u03b2)", "test images", "reconstructions"].map((label) => {
      const canvas = W.el("canvas", { class: "vae-image vae-strip", role: "img", "aria-label": label });
      return { canvas, node: W.el("div", { class: "vae-strip-row" }, W.el("span", { class: "vae-strip-label" }, label), canvas) };
    });
    W.paintImages(rows[1].canvas, inputs, n, false);
    root.append(
      W.el("p", { class: "vae-widget-title" }, "Rate and distortion: pick a \u03b2"),
      W.el("div", { class: "vae-row" }, plot, W.el("div", { class: "vae-rd-panel" }, heading, ...rows.map((r) => r.node))),
      W.el("p", { class: "vae-hint" },
        "Hover, tap or focus a point (arrow keys move between points) to see that model's samples and reconstructions. " +
        "R and D are means over the " + models[0].n_test.toLocaleString("en") + " binarized test images."));

    let current = -1;
    function show(i) {
      if (i === current) return;
      current = i;
      const m = models[i];
      const samples = W.array(m.samples);
      W.paintImages(rows[0].canvas, samples, samples.shape[0], false);
      W.paintImages(rows[2].canvas, W.array(m.reconstructions), n, false);
      heading.textContent = "\u03b2 = " + m.beta + " (" + m.model.name + "): rate " + m.rate.toFixed(1) +
        " nats, distortion " + m.distortion.toFixed(1) + " nats, \u2212ELBO " + (m.rate + m.distortion).toFixed(1) + " nats";
      points.forEach((g, k) => g.classList.toggle("vae-rd-selected", k === i));
    }

    show(one ? models.indexOf(one) : 0);
    return {
      show,
      /** The beta of the model whose images are on screen. */
      shown: () => models[current].beta,
      betas: () => models.map((m) => m.beta),
    };
  });
})();
