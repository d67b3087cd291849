"""benchmarks/compiled.py: the step clock's arithmetic, its refusals, and the quick run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import compiled  # noqa: E402


def test_steady_rate_times_epoch_two_and_charges_epoch_one_its_extra_time() -> None:
    # 4 steps per epoch; epoch 1: 5.5 s (compilation), epoch 2: 0.5 s a step (its last, short, step untimed).
    stamps = [0.0, 3.5, 4.5, 5.0, 5.0 + 0.5, 6.0, 6.5, 7.0]
    rate, extra_s = compiled.steady_rate(stamps, batch_size=100, steps_per_epoch=4)
    assert rate == pytest.approx(100 / 0.5)  # stamps[7] - stamps[4] = 1.5 s for 3 steps
    assert extra_s == pytest.approx(5.5 - 4 * 0.5)


def test_steady_rate_refuses_a_run_too_short_to_measure() -> None:
    with pytest.raises(ValueError, match=r"^--epochs/--train-size: expected at least 2 epochs of at least 2 steps, "
                                         r"got 5 steps of 3 per epoch$"):
        compiled.steady_rate([0.0, 1.0, 2.0, 3.0, 4.0], batch_size=10, steps_per_epoch=3)
    with pytest.raises(ValueError, match="got 2 steps of 1 per epoch"):
        compiled.steady_rate([0.0, 1.0], batch_size=10, steps_per_epoch=1)


def test_the_step_clock_is_a_constant_beta_of_one() -> None:
    clock = compiled.StepClock()
    assert [clock(step) for step in range(3)] == [1.0, 1.0, 1.0]
    assert len(clock.stamps) == 3 and clock.stamps == sorted(clock.stamps)


@pytest.mark.parametrize("flags, units", [
    ("fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile", ["avx512_bf16", "amx_bf16"]),  # a Xeon with AMX
    ("fpu sse2 avx2 avx512f avx512_bf16 avx512_vnni", ["avx512_bf16"]),  # an EPYC with AVX512_BF16
    ("fpu sse2 avx2 avx512f avx512bw", []),  # AVX-512 without bfloat16
    ("", []),
])
def test_bf16_units_are_read_from_the_flags(flags: str, units: list[str]) -> None:
    assert compiled.bf16_units({"Model name": "some CPU", "Flags": flags}) == units


def test_no_lscpu_means_no_units_and_the_platform_s_name() -> None:
    assert compiled.bf16_units({}) == []
    assert compiled.machine({})["cpu"]  # platform.processor() or platform.machine(), never empty


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "1"], "--epochs: expected an integer >= 2, got 1"),
    (["--train-size", "-5"], "--train-size: expected an integer >= 1, got -5"),
    (["--batch-sizes", "128", "0"], r"--batch-sizes: expected positive integers, got \[128, 0\]"),
    (["--variants", "eager bfloat16"], "--variants: the speed-ups are relative to 'eager float32'"),
])
def test_bad_arguments_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        compiled.parse_args(argv)
    assert re.search(message, capsys.readouterr().err)


def test_quick_run_prints_a_row_per_backend_and_variant() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compiled.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^machine: .+; bfloat16 units: ", done.stdout, re.M)
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if re.match(r"\| (torch|keras) \|", line)]
    assert [(r[0].strip(), r[3].strip()) for r in rows] == [
        (backend, variant) for backend in ("torch", "keras") for variant in compiled.VARIANTS]
    for backend, model, batch, variant, first_s, rate, speed_up, elbo, change in ([c.strip() for c in r] for r in rows):
        assert (model, batch) == ("mlp", "64")
        assert float(rate.replace(",", "")) > 0 and float(first_s) >= 0
        assert -600 < float(elbo) < -100  # two epochs of 512 images: far from trained, far from broken
        if variant == "eager float32":
            assert (speed_up, change) == ("1.00x", "+0.00")
        else:
            assert abs(float(change)) < 5  # the same seed and budget: the options change the ELBO little
