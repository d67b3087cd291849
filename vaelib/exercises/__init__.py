"""Auto-checks for the chapter exercises (framework-free).

Each chapter has a module (``ch1`` ... ``ch6``) of ``check_*`` functions. A checker runs the
learner's function on random cases against the reference, prints one line that says either
that it passed or what is wrong, and returns True or False. It never raises on a wrong
answer, so a notebook cell that calls it always runs to the end.
"""

from vaelib.exercises._report import CheckFailed, run_check

__all__ = ["CheckFailed", "run_check"]
