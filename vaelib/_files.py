"""File helpers (framework-free): atomic writes, and checksums of streams and files."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_path", "stream_digest", "file_sha256"]

_BLOCK = 1 << 20


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it to ``path`` on success.

    On any error the temporary file is removed and ``path`` keeps its old content (or stays
    absent), so a crash never leaves a half-written file. The temporary name keeps the
    target's suffix, for writers (like Keras) that insist on one. The file keeps the mode of
    the one it replaces (0o644 for a new one), not ``mkstemp``'s private 0o600.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def stream_digest(stream: BinaryIO, algorithm: str) -> str:
    """Hex digest (``"md5"``, ``"sha256"``, ...) of what is left in a binary stream, read in blocks."""
    digest = hashlib.new(algorithm, usedforsecurity=False)  # checksums of data, not security
    while block := stream.read(_BLOCK):
        digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return stream_digest(f, "sha256")
