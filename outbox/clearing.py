"""Deleting messages: a plan first (what would go, for ``--dry-run`` and the question), then the deletion.

Whole files are unlinked by name relative to the folder, so nothing outside it can go.
A ``.log`` file that keeps some of its messages is rewritten, a stream at a time, into a
temporary file that replaces it only if it has not changed since the plan. A file the
disk will not let go of (permission, a full disk) is reported, never a traceback, and
left as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from outbox import index, logfile
from outbox.files import LOG_SUFFIX, TEMP_PREFIX, opened, os_reason, read_folder, scan
from outbox.folder import Outbox
from outbox.messages import Summary, Unreadable
from outbox.search import active

IN_THREADS = 1000  # from this many files, stat and unlink run in two threads


@dataclass(slots=True)
class ClearPlan:
    """What ``clear`` would remove: whole files, and messages cut out of ``.log`` files."""

    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # removed whole: name → (messages, bytes)
    rewrites: dict[str, tuple[list[int], tuple]] = field(default_factory=dict)  # .log → (indexes, its stat)
    messages: list[Summary] = field(default_factory=list)
    count: int = 0
    size: int = 0
    kept_unreadable: list[Unreadable] = field(default_factory=list)  # a filter cannot tell about them
    everything: bool = False  # no filter: every message file


@dataclass(slots=True)
class ClearResult:
    count: int = 0
    size: int = 0
    skipped: list[str] = field(default_factory=list)  # files gone or written to since the plan
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why) the disk refused


def in_two_threads(work: Callable[[list[str]], list], names: list[str]) -> list:
    """``work`` over the names, split between two threads when there are many: unlink and stat
    let go of the GIL, and on this machine's ext4 100,000 unlinks take ~300 ms in two threads
    against ~550 ms in one; more threads gain nothing (``bench/outbox_bench.py``)."""
    if len(names) < IN_THREADS:
        return work(names)
    with ThreadPoolExecutor(2) as pool:
        halves = list(pool.map(work, [names[0::2], names[1::2]]))
    merged = [None] * len(names)
    merged[0::2], merged[1::2] = halves
    return merged


def plan_clear(outbox: Outbox, *, ids: Collection[str] | None = None, **filters) -> ClearPlan:
    """What ``clear`` would remove: the messages ``ids`` names (all of them when None) that match ``filters``
    (``Summary.matches``: ``to``, ``before``, ``words``...); with neither, every message file (readable or not)."""
    filters = active(filters)
    if ids is None and not filters:
        return _plan_everything(outbox)
    plan = ClearPlan()
    reading = read_folder(outbox.folder)
    per_log: dict[str, list] = {}  # .log name → [messages in it, indexes to remove, bytes to remove]
    for item in outbox.summaries(reading.newest_first(), reading.names):
        is_log = item.file.endswith(LOG_SUFFIX)
        if is_log:
            per_log.setdefault(item.file, [0, [], 0])[0] += 1
        if isinstance(item, Unreadable):
            plan.kept_unreadable.append(item)
        elif (ids is None or item.id in ids) and item.matches(**filters):
            plan.messages.append(item)
            plan.count += 1
            plan.size += item.size
            if is_log:
                per_log[item.file][1].append(item.index)
                per_log[item.file][2] += item.size
            else:
                plan.files[item.file] = (1, item.size)
    for name, (count, doomed, size) in per_log.items():
        if doomed and len(doomed) == count:
            plan.files[name] = (count, size)
        elif doomed:
            plan.rewrites[name] = (sorted(doomed), _identity(outbox, name))
    return plan


def _identity(outbox: Outbox, name: str) -> tuple:
    try:
        info = os.stat(outbox.folder / name, follow_symlinks=False)
    except OSError:
        return ()
    return info.st_ino, info.st_size, info.st_mtime_ns


def _plan_everything(outbox: Outbox) -> ClearPlan:
    """Every message file, in the folder's own order (the cheapest to unlink in); no .eml file is read."""
    names = scan(outbox.folder)
    fd = os.open(outbox.folder, os.O_RDONLY | os.O_DIRECTORY) if names else None

    def sizes(part: list[str]) -> list[int]:
        found = []
        for name in part:
            try:
                found.append(os.stat(name, dir_fd=fd, follow_symlinks=False).st_size)
            except OSError:
                found.append(0)
        return found

    try:
        plan = ClearPlan(everything=True)
        plan.files = {name: (1, size) for name, size in zip(names, in_two_threads(sizes, names), strict=True)}
    finally:
        if fd is not None:
            os.close(fd)
    for name in names:
        if name.endswith(LOG_SUFFIX):
            plan.files[name] = (outbox.log_count(name), plan.files[name][1])
    plan.count = sum(count for count, _ in plan.files.values())
    plan.size = sum(size for _, size in plan.files.values())
    return plan


def clear(outbox: Outbox, plan: ClearPlan) -> ClearResult:
    """Carry out a plan: unlink whole files, rewrite ``.log`` files without the removed messages,
    and drop the index's lines of what went."""
    result = ClearResult()
    folder = outbox.folder
    names = list(plan.files)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)

    def unlink(part: list[str]) -> list[str]:
        outcome = []
        for name in part:
            try:
                os.unlink(name, dir_fd=fd)
                outcome.append("")
            except FileNotFoundError:
                outcome.append("gone")
            except OSError as error:
                outcome.append(os_reason(error))
        return outcome

    try:
        for name, outcome in zip(names, in_two_threads(unlink, names), strict=True):
            if outcome == "gone":
                result.skipped.append(name)
            elif outcome:
                result.failed.append((name, outcome))
            else:
                result.count += plan.files[name][0]
                result.size += plan.files[name][1]
    finally:
        os.close(fd)
    for name, (doomed, identity) in plan.rewrites.items():
        try:
            freed = _rewrite_log(outbox, name, set(doomed), identity)
        except OSError as error:
            result.failed.append((name, os_reason(error)))
            continue
        if freed is None:
            result.skipped.append(name)
        else:
            result.count += len(doomed)
            result.size += freed
    if plan.everything and not result.failed:
        index.remove(folder)  # every line was for a removed file (or one saved meanwhile: it is read instead)
    elif plan.files:
        index.rewrite(folder, keep=set(scan(folder)))
    return result


def _rewrite_log(outbox: Outbox, name: str, remove: set[int], identity: tuple) -> int | None:
    """Rewrite a .log file without the messages at ``remove``; the bytes freed, or None if it changed."""
    folder = outbox.folder
    with opened(folder, name) as (fd, info):
        if (info.st_ino, info.st_size, info.st_mtime_ns) != identity:
            return None
        messages = logfile.read(fd, info.st_size, name)
        if not messages.complete:  # Django's backend is still writing to it
            return None
        temp_fd, temp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=".part")
        try:
            written = 0
            with os.fdopen(temp_fd, "wb") as stream:
                for number in range(len(messages)):
                    if number in remove:
                        continue
                    start, end = messages.starts[number], messages.ends[number]
                    for position in range(start, end, 1 << 20):
                        written += stream.write(os.pread(fd, min(1 << 20, end - position), position))
                    written += stream.write(logfile.SEPARATOR)
            os.replace(temp, folder / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
    return info.st_size - written
