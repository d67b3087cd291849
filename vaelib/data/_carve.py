"""The carve-out: stand in for a missing split with part of a present one (quick mode only).

Offline CI has no MNIST or PTB training split (see the course spec). In quick mode only (or
when a caller such as the reference-model script asks for it explicitly), the loaders then
train on the first part of a held-out split and evaluate on the rest of it, and say so loudly.
Both halves come from one rule, so whichever split is asked for first, the carved training
part and the remaining held-out part never overlap.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from vaelib.data._errors import SmokeCarveOutWarning

__all__ = ["CarveOut"]

# Show every carve-out, not only the first one per call site: a learner who loads twice
# should be told twice that the data are not the official split.
warnings.filterwarnings("always", category=SmokeCarveOutWarning)


@dataclass(frozen=True)
class CarveOut:
    """How a missing split is carved from a present one.

    Attributes
    ----------
    title : str
        Display name of the data set, e.g. ``"PTB"``.
    missing : str
        The split whose official files are unavailable (``"train"``).
    files : tuple of str
        Its file names, for the message.
    source : str
        The present split it is carved from (``"test"``, ``"valid"``).
    total : int
        Number of examples in the source split.
    fraction : float
        Share of the source split (its first part) that becomes the missing split.
    unit : str
        What an example is called in messages (``"images"``, ``"sentences"``).
    """

    title: str
    missing: str
    files: tuple[str, ...]
    source: str
    total: int
    fraction: float
    unit: str

    @property
    def n_first(self) -> int:
        """Examples given to the missing split (the first ones of the source split)."""
        return math.floor(self.fraction * self.total)

    def part(self, split: str) -> slice:
        """The slice of the source split that serves as ``split``."""
        if split == self.missing:
            return slice(0, self.n_first)
        if split == self.source:
            return slice(self.n_first, self.total)
        raise ValueError(f"split: {split!r} is not part of the {self.title} carve-out")

    def message(self) -> str:
        """One line saying exactly what was done."""
        rest = self.total - self.n_first
        role = {"test": "testing", "valid": "validating"}.get(self.source, f"using as {self.source}")
        source = {"valid": "validation"}.get(self.source, self.source)
        return (
            f"vaelib.data: {self.title} {self.missing} split ({', '.join(self.files)}) "
            f"is not available offline; training on the first {self.n_first:,} of the "
            f"{self.total:,} {source} {self.unit}, {role} on the other {rest:,}"
        )

    def note(self, split: str) -> str:
        """What ``ImageData.source``/``TextCorpus.source`` records for ``split``."""
        sl = self.part(split)
        return (
            f"carve-out: {self.title} {split} = {self.source} {self.unit} "
            f"[{sl.start:,}:{sl.stop:,}] of {self.total:,} (official {self.missing} split unavailable)"
        )

    def announce(self) -> None:
        """Warn (shown in notebooks and terminals) that the carve-out happened."""
        warnings.warn(self.message(), SmokeCarveOutWarning, stacklevel=4)
