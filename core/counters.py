"""The store of the rate-limit counters: ``CACHES["counters"]``, built from ``CACHE_URL``.

A counter must never be lost before its window ends, however many other keys
the store holds, and two processes counting at once must both be counted. So:

* one machine (the default): diskcache's ``DjangoCache``, SQLite files in a
  folder, ``incr`` in one transaction, ``eviction_policy: "none"`` (only expired
  entries are ever removed), shared by every process of the machine;
* several machines: Redis (``redis://``), Django's own ``RedisCache``, whose
  ``INCR`` is atomic and keeps the key's expiry.

Stores that can lose a count are refused with a ``ConfigError``: memcached and
the database cache cull when full, locmem is per process, dummy keeps nothing.
The counters have this alias to themselves: nothing else fills it.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ

from core.env import ENCODE_HINT, ConfigError, check_url_credentials
from core.mail.config import resolve_dir
from core.mail.django_internals import redis_client

ALIAS = "counters"
VARIABLE = "CACHE_URL"
EMBEDDED_BACKEND = "diskcache.DjangoCache"
EMBEDDED_SCHEMES = ("diskcache", "filecache")  # filecache:// is read as before: a folder on this machine
REDIS_SCHEMES = ("redis", "rediss", "valkey", "valkeys", "rediscache")
DEFAULT_FOLDER = ".cache/counters"
HINT = "use diskcache:///path/to/folder (one machine) or redis://host:6379/0 (several machines)"

_MEMCACHED = "memcached evicts entries when it is full, counters included"
REFUSED = {
    "memcache": _MEMCACHED,
    "pymemcache": _MEMCACHED,
    "pylibmc": _MEMCACHED,
    "locmemcache": "memory is per process, so each worker would count on its own",
    "dummycache": "the dummy cache keeps nothing",
    "dbcache": "the database cache culls entries when full and does not increment atomically",
}


def embedded(folder: str) -> dict:
    """diskcache in ``folder``: never evicts a live entry; waits up to 2 s for a write lock rather than failing."""
    return {
        "BACKEND": EMBEDDED_BACKEND,
        "LOCATION": folder,
        "SHARDS": 8,
        "DATABASE_TIMEOUT": 2.0,
        "OPTIONS": {"eviction_policy": "none"},
    }


def counters_cache(url: str, base_dir: Path) -> dict:
    """The ``CACHES`` entry for the counters; ``url`` empty means the embedded store in ``.cache/counters``."""
    url = url.strip()
    if not url:
        return embedded(str(base_dir / DEFAULT_FOLDER))
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or not scheme:
        raise ConfigError(VARIABLE, "not a URL (scheme://…)", HINT)
    if scheme in REFUSED:
        raise ConfigError(VARIABLE, f"{scheme}:// cannot hold the rate-limit counters ({REFUSED[scheme]})", HINT)
    if scheme in EMBEDDED_SCHEMES:
        # scheme:///abs is absolute, scheme://rel relative to the project.
        if not rest:
            raise ConfigError(VARIABLE, f"{scheme}:// names no folder", HINT)
        return embedded(resolve_dir(VARIABLE, rest, base_dir))
    if scheme in REDIS_SCHEMES:
        check_url_credentials(VARIABLE, url)  # before parsing, which may read a password as the host or port
        try:
            port = urlsplit(url).port  # reads the host and port; never echoed (the password is in the URL)
            config = environ.Env.cache_url_config(url)
        except ValueError:
            port, config = -1, {}
        if port == -1 or not config.get("LOCATION"):
            raise ConfigError(
                VARIABLE,
                f"the {scheme}:// URL cannot be read (host, port or password)",
                f"write it as redis://:password@host:6379/0; {ENCODE_HINT}",
            )
        return config
    raise ConfigError(VARIABLE, f"unknown cache scheme {scheme!r}", HINT)


def count_up(cache, counters: list[tuple[str, int]]) -> list[int]:
    """Add one to each ``(key, seconds to live)`` counter of ``cache`` (the store: ``caches["counters"]``), made at 0
    with that lifetime when it is not there; their new values.

    On Redis, one round trip for all of them (a pipeline of ``SET NX EX`` and ``INCR`` per counter; ``INCR``
    keeps the expiry), however many budgets a request counts against. Elsewhere the cache's own ``add`` and
    ``incr``, each atomic (diskcache: one SQLite transaction each, on this machine).
    """
    keys = [cache.make_and_validate_key(key) for key, _ in counters]
    client = redis_client(cache, keys[0]) if keys else None
    if client is not None:
        pipeline = client.pipeline(transaction=False)
        for key, (_, seconds) in zip(keys, counters, strict=True):
            pipeline.set(key, 0, ex=seconds, nx=True)
            pipeline.incr(key)
        return pipeline.execute()[1::2]
    counts = []
    for key, seconds in counters:
        cache.add(key, 0, seconds)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between the two calls: a new window, this request its first
            cache.add(key, 1, seconds)
            counts.append(1)
    return counts
