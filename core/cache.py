"""Django's file cache, with ``add`` and ``incr`` made atomic across processes.

The rate limits count requests with ``cache.add`` then ``cache.incr``. Django's
file cache does both as read-then-write, so two worker processes answering at
the same moment can both read 3 and both write 4, and a burst slips past the
limit. Here each of the two holds an exclusive lock (``flock``) on one of a
fixed set of lock files, chosen by the key, so they run one at a time per key.
Plain ``get``/``set`` are unchanged (Django already writes through a temporary
file and a rename). The default cache of the site is this one, in ``.cache/``
of the project: shared by every process of one machine, with no extra service.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.filebased import FileBasedCache as DjangoFileBasedCache

LOCK_FILES = 64  # keys share lock files: a bounded number of files, little contention


class FileBasedCache(DjangoFileBasedCache):
    @contextmanager
    def locked(self, key: str, version: int | None = None) -> Iterator[None]:
        self._createdir()
        name = self.make_and_validate_key(key, version=version)
        path = os.path.join(self._dir, f"lock-{zlib.crc32(name.encode()) % LOCK_FILES:02d}")
        with open(path, "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        with self.locked(key, version):
            return super().add(key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        """Add ``delta`` and keep the key's expiry (Django's ``incr`` resets it to the default timeout)."""
        with self.locked(key, version):
            try:
                with open(self._key_to_file(key, version), "rb") as f:
                    # The same files and format as Django's own get(): written by this site only.
                    expiry = pickle.load(f)  # noqa: S301
                    value = pickle.loads(zlib.decompress(f.read()))  # noqa: S301
            except (FileNotFoundError, EOFError):
                expiry, value = 0, None
            now = time.time()
            if value is None or (expiry is not None and expiry < now):
                raise ValueError(f"Key '{key}' not found")
            self.set(key, value + delta, None if expiry is None else max(expiry - now, 0.001), version)
            return value + delta
