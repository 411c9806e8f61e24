"""Django's file backend's ``.log`` files: where each message starts and ends, read as a stream.

Django writes every message of a connection to one file, each followed by a line of
79 dashes. A line of dashes inside a message body is not a separator: a separator is
followed by the next message's headers or by the end of the file. The file is read a
megabyte at a time, so a file of a million messages costs the memory of its positions.

Each message's ID hashes the file name and the message's bytes (and how many equal
messages came before it), so that it survives a rewrite of the file that removes others.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from dataclasses import dataclass

from outbox.files import message_id
from outbox.headers import HEADER_START

SEPARATOR = b"\n" + b"-" * 79 + b"\n"
LOOKAHEAD = 1000  # bytes after a separator in which the next message's first header name must end
BLOCK = 1 << 20


@dataclass(slots=True)
class LogMessages:
    """The messages of one .log file, oldest first: ``starts[i]:ends[i]`` and the key of each ID."""

    name: str
    starts: array
    ends: array
    keys: bytearray  # 9 bytes a message: the digest of its bytes, and how many equal ones came before
    complete: bool  # False when the last message has no separator after it (a write in progress, a cut file)

    def __len__(self) -> int:
        return len(self.starts)

    def ident(self, index: int) -> str:
        return message_id(self.name, b"#" + bytes(self.keys[index * 9 : index * 9 + 9]))


def read(fd: int, size: int, name: str) -> LogMessages:
    """Where each message of the .log file open as ``fd`` (``size`` bytes) starts and ends."""
    found = LogMessages(name, array("q"), array("q"), bytearray(), True)
    seen: dict[bytes, int] = {}

    def add(start: int, end: int, digest: bytes) -> None:
        found.starts.append(start)
        found.ends.append(end)
        found.keys += digest + bytes([seen.get(digest, 0) & 0xFF])
        seen[digest] = seen.get(digest, 0) + 1

    # buffer holds the file's bytes from `offset` on; `pos` is where the search goes on in it.
    buffer, offset, pos = b"", 0, 0
    start, hasher, hashed = 0, hashlib.blake2b(digest_size=8), 0  # the message being read; bytes hashed so far
    end_of_file = False
    while True:
        at = buffer.find(SEPARATOR, pos)
        if (at == -1 or len(buffer) - at - len(SEPARATOR) < LOOKAHEAD) and not end_of_file:
            # Keep what a separator may still start in; the bytes before it belong to this message.
            keep = max(pos, len(buffer) - len(SEPARATOR) + 1) if at == -1 else at
            hasher.update(memoryview(buffer)[hashed:keep])
            block = os.pread(fd, BLOCK, offset + len(buffer)) if offset + len(buffer) < size else b""
            end_of_file = not block
            buffer, offset, pos, hashed = buffer[keep:] + block, offset + keep, 0, 0
            continue
        if at == -1:
            break
        after = buffer[at + len(SEPARATOR) : at + len(SEPARATOR) + LOOKAHEAD]
        if after and not HEADER_START.match(after):  # dashes inside a body
            pos = at + 1
            continue
        hasher.update(memoryview(buffer)[hashed:at])
        add(start, offset + at, hasher.digest())
        pos = hashed = at + len(SEPARATOR)
        start, hasher = offset + pos, hashlib.blake2b(digest_size=8)
    if offset + len(buffer) > start:  # bytes after the last separator: a message not yet closed
        hasher.update(memoryview(buffer)[hashed:])
        add(start, offset + len(buffer), hasher.digest())
        found.complete = False
    return found


def count(fd: int, size: int) -> int:
    """How many messages the file holds (an empty file holds none)."""
    return len(read(fd, size, ""))
