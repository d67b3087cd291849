/* VAE course, interactive figures: chapter 4's latent explorer.
 *
 * A pad over the prior's quantile range (the extent of the static latent-manifold figure)
 * with the test set's posterior means as dots coloured by class; the code under the pointer,
 * a finger or the arrow keys is decoded in the page into the image beside the pad.
 */
(function () {
  "use strict";
  const W = window.vaeWidgets;
  const SIZE = 340; // CSS pixels of the pad canvas
  const MARGIN = { left: 40, right: 10, top: 10, bottom: 34 };

  W.register("latent-explorer", "vae_2d", function build(root, data) {
    const decoder = W.decoderOf(data);
    const [lo, hi] = data.extent;
    const mu = W.array(data.points.mu);
    const labels = W.array(data.points.label);
    const inner = SIZE - MARGIN.left - MARGIN.right;
    const innerH = SIZE - MARGIN.top - MARGIN.bottom;
    const toX = (z1) => MARGIN.left + ((z1 - lo) / (hi - lo)) * inner;
    const toY = (z2) => MARGIN.top + ((hi - z2) / (hi - lo)) * innerH; // up is larger z2
    const clamp = (v) => Math.min(hi, Math.max(lo, v));

    const pad = W.el("canvas", {
      class: "vae-pad", tabindex: "0", role: "application",
      "aria-label": "Latent plane: move the pointer, or use the arrow keys, to choose the code z that is decoded",
    });
    const image = W.el("canvas", { class: "vae-image vae-image-large", role: "img", "aria-label": "decoded image" });
    const readout = W.el("p", { class: "vae-readout", "aria-live": "polite" });
    const legend = W.el("ul", { class: "vae-legend", "aria-label": "classes of the dots" },
      ...data.class_names.map((name, k) => W.el("li", {}, W.el("span", { class: "vae-swatch", style: "background:" + W.TAB10[k] }), name)));
    root.append(
      W.el("p", { class: "vae-widget-title" }, "Explore the 2-D latent space"),
      W.el("div", { class: "vae-row" },
        W.el("div", { class: "vae-pad-column" }, pad, legend),
        W.el("div", { class: "vae-output" }, image, readout)),
      W.el("p", { class: "vae-hint" },
        "Move the pointer or a finger over the plane (or focus it and use the arrow keys; Home returns to the origin): " +
        "the image is the decoder's output at that z, computed in your browser. Dots: posterior means of " +
        mu.shape[0].toLocaleString("en") + " test images, coloured by class."));

    // The dots never change: draw them once, then copy them under each new marker.
    const ratio = window.devicePixelRatio || 1;
    pad.width = pad.height = Math.round(SIZE * ratio);
    const dots = document.createElement("canvas");
    dots.width = dots.height = pad.width;
    drawBackground(dots.getContext("2d"));

    function drawBackground(ctx) {
      ctx.scale(ratio, ratio);
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, SIZE, SIZE);
      ctx.font = "11px sans-serif";
      ctx.fillStyle = "#333";
      ctx.strokeStyle = "#e4e4e4";
      ctx.textAlign = "center";
      for (const t of W.ticks(lo, hi, 8)) {
        ctx.beginPath();
        ctx.moveTo(toX(t), MARGIN.top);
        ctx.lineTo(toX(t), MARGIN.top + innerH);
        ctx.moveTo(MARGIN.left, toY(t));
        ctx.lineTo(MARGIN.left + inner, toY(t));
        ctx.stroke();
        ctx.fillText(W.fmt(t, 1), toX(t), MARGIN.top + innerH + 14);
        ctx.textAlign = "right";
        ctx.fillText(W.fmt(t, 1), MARGIN.left - 5, toY(t) + 4);
        ctx.textAlign = "center";
      }
      ctx.fillText("z\u2081", MARGIN.left + inner / 2, SIZE - 4);
      ctx.save();
      ctx.translate(11, MARGIN.top + innerH / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.fillText("z\u2082", 0, 0);
      ctx.restore();
      ctx.save();
      ctx.beginPath();
      ctx.rect(MARGIN.left, MARGIN.top, inner, innerH);
      ctx.clip(); // means beyond the quantile range fall off the pad, as off the static grid
      ctx.globalAlpha = 0.65;
      for (let i = 0; i < labels.length; i++) {
        ctx.fillStyle = W.TAB10[labels[i] % 10];
        ctx.beginPath();
        ctx.arc(toX(mu[2 * i]), toY(mu[2 * i + 1]), 1.8, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.restore();
      ctx.strokeStyle = "#888";
      ctx.strokeRect(MARGIN.left, MARGIN.top, inner, innerH);
    }

    let z = [0, 0]; // where the pointer or keys asked to go
    let shown = z; // the code of the image on screen (rendering waits for the next frame)
    let probabilities = null;
    let frame = 0;

    function render() {
      frame = 0;
      shown = z;
      probabilities = decoder.decode(shown);
      W.paintImages(image, probabilities, 1, true);
      const ctx = pad.getContext("2d");
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.drawImage(dots, 0, 0);
      ctx.scale(ratio, ratio);
      const x = toX(z[0]);
      const y = toY(z[1]);
      ctx.strokeStyle = "rgba(0,0,0,0.45)";
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(x, MARGIN.top);
      ctx.lineTo(x, MARGIN.top + innerH);
      ctx.moveTo(MARGIN.left, y);
      ctx.lineTo(MARGIN.left + inner, y);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#000";
      ctx.fillStyle = "#fff";
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
      ctx.lineWidth = 1;
      readout.textContent = "z = (" + W.fmt(z[0], 2) + ", " + W.fmt(z[1], 2) + ")";
    }

    function setZ(next) {
      z = [clamp(next[0]), clamp(next[1])];
      if (!frame) frame = requestAnimationFrame(render);
    }

    function fromPointer(event) {
      const box = pad.getBoundingClientRect();
      const x = ((event.clientX - box.left) / box.width) * SIZE; // the canvas may be scaled down by CSS
      const y = ((event.clientY - box.top) / box.height) * SIZE;
      return [lo + ((x - MARGIN.left) / inner) * (hi - lo), hi - ((y - MARGIN.top) / innerH) * (hi - lo)];
    }

    pad.addEventListener("pointerdown", (event) => {
      pad.setPointerCapture(event.pointerId); // a finger keeps steering after it leaves the pad
      pad.focus({ preventScroll: true });
      setZ(fromPointer(event));
    });
    pad.addEventListener("pointermove", (event) => {
      if (event.pointerType === "mouse" || pad.hasPointerCapture(event.pointerId)) setZ(fromPointer(event));
    });
    pad.addEventListener("keydown", (event) => {
      const step = ((hi - lo) / 50) * (event.shiftKey ? 5 : 1);
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[event.key]) setZ([z[0] + moves[event.key][0], z[1] + moves[event.key][1]]);
      else if (event.key === "Home") setZ([0, 0]);
      else return;
      event.preventDefault(); // the arrows steer z, not the page
    });

    render();
    return {
      /** Move to z and draw at once (clamped to the pad's range). */
      setZ(next) { setZ(next); if (frame) { cancelAnimationFrame(frame); render(); } },
      /** The code of the image on screen. */
      z: () => shown.slice(),
      /** The probabilities of the image on screen (what the canvas shows, before rounding to 8 bits). */
      probabilities: () => Array.from(probabilities),
      /** Viewport coordinates of code z on the pad, for pointer-driven tests. */
      clientPoint(code) {
        const box = pad.getBoundingClientRect();
        return { x: box.left + (toX(code[0]) / SIZE) * box.width, y: box.top + (toY(code[1]) / SIZE) * box.height };
      },
      extent: () => [lo, hi],
    };
  });
})();
