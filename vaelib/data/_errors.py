"""Exceptions and warnings raised by :mod:`vaelib.data` (each message is one line)."""

from __future__ import annotations

__all__ = ["DataNotFoundError", "DataIntegrityError", "DataWarning", "SmokeCarveOutWarning"]


class DataNotFoundError(FileNotFoundError):
    """A data file is in none of the searched places and could not be downloaded.

    The message names the file, the URLs tried and where to put a copy.
    """


class DataIntegrityError(OSError):
    """A data file provided by the user or the system does not match its checksum.

    Such a file is never deleted or replaced (it is not ours); the message names the
    file, its path and the checksum it should have.
    """


class DataWarning(UserWarning):
    """Something about the data a learner should know (e.g. a corrupt cache was refetched)."""


class SmokeCarveOutWarning(DataWarning):
    """In smoke mode, a missing split was carved from another split of the same data set."""
