"""Sizes, the tree's top directory and how sizes are written."""
import os
import re

# tools/benchlib/units.py -> the repository's top directory.
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KIB = 1024
MIB = 1024 * 1024
SECTOR = 512


def fmt_bs(bs: int) -> str:
    """A block size as the labels write it: 4k, 128k, 1M, or bytes."""
    if bs % MIB == 0:
        return "%dM" % (bs // MIB)
    if bs % KIB == 0:
        return "%dk" % (bs // KIB)
    return str(bs)


def parse_size(text: str) -> int:
    """'4096', '4k', '64M', '1G': bytes (K/M/G/T are powers of 1024)."""
    m = re.fullmatch(r"(\d+)([kKmMgGtT]?)", text.strip())
    if not m:
        raise ValueError("bad size %r" % text)
    shift = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m.group(2).lower()]
    return int(m.group(1)) << shift
