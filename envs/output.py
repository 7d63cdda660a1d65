"""Safe decoding and head+tail truncation of command output."""

from __future__ import annotations

ELISION = "\n[... {n} characters elided ...]\n"


def decode(data: bytes) -> str:
    """Decode command output as UTF-8, replacing undecodable bytes (never raises)."""
    return data.decode("utf-8", errors="replace")


def truncate_output(text: str, limit: int) -> tuple[str, bool]:
    """Keep the first and last `limit // 2` characters with a note in between.

    Returns `(text, truncated)`. A `limit` <= 0 means "no limit".
    """
    if limit <= 0 or len(text) <= limit:
        return text, False
    head = limit // 2
    tail = limit - head
    elided = len(text) - head - tail
    return text[:head] + ELISION.format(n=elided) + text[len(text) - tail :], True


class HeadTailBuffer:
    """Collect a byte stream keeping only its head and tail, so a runaway command cannot eat memory.

    `keep` bytes are kept at each end (4 bytes per character of the char limit covers any UTF-8).
    """

    def __init__(self, char_limit: int) -> None:
        self.keep = max(char_limit, 1) * 4 if char_limit > 0 else 0
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.keep == 0:
            self.head += chunk
            return
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * self.keep:
                del self.tail[: len(self.tail) - self.keep]

    def render(self, limit: int) -> tuple[str, bool]:
        """Decode and truncate what was collected: `(text, truncated)`."""
        if len(self.tail) > self.keep:
            del self.tail[: len(self.tail) - self.keep]
        dropped = self.total - len(self.head) - len(self.tail)
        if dropped <= 0:
            return truncate_output(decode(bytes(self.head) + bytes(self.tail)), limit)
        head = decode(bytes(self.head))
        tail = decode(bytes(self.tail))
        h = limit // 2
        t = limit - h
        elided = dropped + max(len(head) - h, 0) + max(len(tail) - t, 0)
        return head[:h] + ELISION.format(n=elided) + tail[len(tail) - t :], True
