"""Framework-free data: Fashion-MNIST, MNIST and Penn Treebank, found locally or
downloaded, and always verified.

Loaders look for each file in an explicit ``data_dir``, then ``$VAELIB_DATA``, then the
user cache (``$VAELIB_CACHE``, ``$XDG_CACHE_HOME/vaelib`` or ``~/.cache/vaelib``), then
``/usr/share/datasets/<name>``, and finally download it from the official URL (or a
mirror) into the cache. Files are checked against their published md5, or the SHA-256
of their decompressed content for recompressed copies. In smoke mode only, a missing
training split is carved from a held-out split, with a warning.
"""

from vaelib.data._errors import DataIntegrityError, DataNotFoundError, DataWarning, SmokeCarveOutWarning
from vaelib.data.batching import batches_by_length, pad_batch
from vaelib.data.images import ImageData, binarize, load_fashion_mnist, load_images, load_mnist, train_val_split
from vaelib.data.ptb import TextCorpus, Vocabulary, load_ptb, load_ptb_corpus

__all__ = [
    "ImageData",
    "load_fashion_mnist",
    "load_mnist",
    "load_images",
    "binarize",
    "train_val_split",
    "load_ptb",
    "Vocabulary",
    "TextCorpus",
    "load_ptb_corpus",
    "pad_batch",
    "batches_by_length",
    "DataNotFoundError",
    "DataIntegrityError",
    "DataWarning",
    "SmokeCarveOutWarning",
]
