"""benchmarks/iwae_cost.py: its refusals and the quick run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import iwae_cost  # noqa: E402


@pytest.mark.parametrize("argv, message", [
    (["--test-images", "0"], "--test-images: expected an integer >= 1, got 0"),
    (["--test-images", "10001"], "--test-images: expected at most 10000 \\(the test split\\), got 10001"),
    (["--k", "-3"], "--k: expected an integer >= 1, got -3"),
    (["--model", "text_vae"], "--model: invalid choice: 'text_vae'"),
    (["--model", "cvae"], "--model: invalid choice: 'cvae'"),  # needs labels
    (["--backends", "jax"], "--backends: invalid choice: 'jax'"),
])
def test_bad_arguments_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        iwae_cost.parse_args(argv)
    assert re.search(message, capsys.readouterr().err)


def test_quick_mode_is_20_images_and_k_100() -> None:
    args = iwae_cost.parse_args(["--quick", "--test-images", "500"])
    assert (args.test_images, args.k, args.model, args.backends) == (20, 100, "vae_conv", ["torch", "keras"])


def test_quick_run_prints_a_row_per_backend_with_the_same_estimate() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "iwae_cost.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^machine: .+, 2 threads; torch ", done.stdout, re.M)
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in done.stdout.splitlines()
            if re.match(r"\| (torch|keras) \|", line)]
    assert [r[:4] for r in rows] == [["torch", "vae_conv", "20", "100"], ["keras", "vae_conv", "20", "100"]]
    for backend, model, images, k, seconds, per_10k, log_px, bits in rows:
        assert float(seconds) >= 0 and float(per_10k) > 0
        assert -260 < float(log_px) < -190  # the trained reference: about -222 nats on these 20 images
        assert float(bits) == pytest.approx(-float(log_px) / (784 * 0.6931471805599453), abs=1e-4)
    # Each backend draws its own noise: the estimates agree to the Monte Carlo error, not exactly.
    assert abs(float(rows[0][6]) - float(rows[1][6])) < 2
