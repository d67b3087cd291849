#!/usr/bin/env python
"""Write the table of reference models into the reproducibility appendix, from the manifest.

Usage (from any directory)::

    python book/_tools/reference_table.py           # rewrite the table between its markers
    python book/_tools/reference_table.py --check   # exit 1 if the appendix's table is stale

The table lives in ``book/appendix_reproducibility.md`` between ``<!-- reference-table -->``
and ``<!-- /reference-table -->``; ``tests/test_reference.py`` runs ``--check``, so the
appendix always shows the manifest's numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vaelib import reference  # noqa: E402
from vaelib._files import atomic_path  # noqa: E402

APPENDIX = ROOT / "book" / "appendix_reproducibility.md"
START, END = "<!-- reference-table -->", "<!-- /reference-table -->"


def _row(name: str, entry: dict) -> str:
    t, ev = entry["training"], entry["evaluation"]
    budget = f"{t['epochs']} epochs, {t['seconds'] / 60:.1f} min"

    def fmt(key: str, digits: int = 2) -> str:
        return f"{ev[key]:.{digits}f}" if key in ev else ""

    if "nll" in ev:
        units = f"{ev['active_units']}/{entry['config'].get('latent_dim', 0)}" if "latent_dim" in entry["config"] else ""
        numbers = ["", "", fmt("kl"), units, fmt("nll"), fmt("perplexity", 1)]
    elif "elbo" in ev:
        numbers = [fmt("elbo"), fmt("log_px"), fmt("kl"), f"{ev['active_units']}/{entry['config']['latent_dim']}", "", ""]
    else:
        numbers = [f"recon. {fmt('reconstruction')}", "", "", "", "", ""]
    mb = entry["bytes"] / 1e6
    return "| " + " | ".join([f"`{name}`", ", ".join(map(str, entry["chapters"])), budget, *numbers, f"{mb:.2f}"]) + " |"


def machines(models: dict) -> str:
    """Where the models trained: one device, or the most common one and the exceptions by name."""
    by_device: dict[str, list[str]] = {}
    for name in sorted(models):
        by_device.setdefault(models[name]["training"]["device"], []).append(name)
    main, *others = sorted(by_device, key=lambda device: -len(by_device[device]))
    exceptions = "; ".join(f"{', '.join(f'`{n}`' for n in by_device[d])} on {d}" for d in others)
    return main + (f", except {exceptions}" if exceptions else "")


def table() -> str:
    """The markdown table of every reference model, from the manifest."""
    whole = reference.manifest(reference.REFERENCE_DIR)
    models = whole["models"]
    header = ("| model | chapter | budget | test ELBO | log p(x) | KL | active | NLL | PPL | MB |\n"
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = [_row(name, models[name]) for name in sorted(models, key=lambda n: (models[n]["chapters"], n))]
    total = sum(e["bytes"] for e in models.values()) / 1e6
    note = (f"Trained by `python book/_tools/train_reference.py` with `vaelib.torch` on {machines(models)}, "
            f"PyTorch {whole['versions']['torch']}; {len(models)} models, {total:.1f} MB of weights in all. "
            "Image models: test ELBO, log-likelihood and KL on the 10,000 binarized Fashion-MNIST test images "
            "(gray levels for the Gaussian model, whose numbers are densities), log p(x) = IWAE bound with k = 1000 on "
            "the first 1,000; autoencoders: BCE summed over pixels on the 10,000 gray-level test images; text models: "
            "per test sentence, NLL with k = 10 importance samples, on the carve-out data their manifest entry records. "
            "Every number is computed from the stored (half-precision) weights.")
    return "\n".join([START, header, *rows, "", note, END])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the table is stale")
    args = parser.parse_args(argv)
    text = APPENDIX.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"{APPENDIX}: no {START} ... {END} markers", file=sys.stderr)
        return 1
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    updated = before + table() + after
    if args.check:
        if updated != text:
            print(f"{APPENDIX}: the reference table is stale; run python book/_tools/reference_table.py", file=sys.stderr)
            return 1
        return 0
    if updated != text:
        with atomic_path(APPENDIX) as tmp:
            tmp.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
