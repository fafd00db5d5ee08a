#!/usr/bin/python3
"""Tests of tools/pattern (the disk pattern of docs/interface.md on raw images).

    test_pattern.py PATTERN_BINARY [TOOLS_PATTERN_WRAPPER]

The expected words are computed here, independently of the C code, with a
Python transcription of docs/interface.md's definition (integers masked to 64 bits);
splitmix64(0) = 0xe220a8397b1dcdaf is also the published first output of the
reference splitmix64 generator seeded with 0, which pins the transcription.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest

MASK = (1 << 64) - 1
SECTOR = 512
BIN = None
WRAPPER = None


def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def word(seed, sector, i):
    return splitmix64(seed ^ ((sector * 64 + i) & MASK))


def sector_bytes(seed, sector):
    return struct.pack("<64Q", *(word(seed, sector, i) for i in range(64)))


def run(*args, tool=None):
    p = subprocess.run([tool or BIN, *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


class PatternTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.img = os.path.join(self.dir.name, "d.img")
        # 2048 + 37 sectors: one full 1 MiB chunk and a partial one.
        self.nsec = 2048 + 37

    def tearDown(self):
        self.dir.cleanup()

    def write(self, seed=1, *extra):
        rc, out, err = run("write", self.img, "--seed", seed, "--size", self.nsec * SECTOR, *extra)
        self.assertEqual(rc, 0, err)
        return out

    def test_reference_vector(self):
        self.assertEqual(splitmix64(0), 0xE220A8397B1DCDAF)
        rc, out, _ = run("word", "--seed", 0, 0, 0)
        self.assertEqual((rc, int(out, 16)), (0, 0xE220A8397B1DCDAF))

    def test_words_match_independent_implementation(self):
        for seed, sector, i in [(1, 0, 0), (1, 2048, 63), (0xDEADBEEF, 4194303, 7),
                                (MASK, 2**40 + 3, 17), (12345, 999999, 62)]:
            rc, out, err = run("word", "--seed", hex(seed), sector, i)
            self.assertEqual(rc, 0, err)
            self.assertEqual(int(out, 16), word(seed, sector, i), (seed, sector, i))

    def test_write_bytes_are_the_pattern(self):
        out = self.write(7)
        self.assertIn("sectors=%d" % self.nsec, out)
        self.assertEqual(os.path.getsize(self.img), self.nsec * SECTOR)
        with open(self.img, "rb") as f:
            data = f.read()
        for s in (0, 1, 2047, 2048, self.nsec - 1):
            self.assertEqual(data[s * SECTOR:(s + 1) * SECTOR], sector_bytes(7, s), s)

    def test_verify_passes_then_names_a_flipped_byte(self):
        self.write(3)
        rc, out, _ = run("verify", self.img, "--seed", 3)
        self.assertEqual(rc, 0, out)
        self.assertIn("checked=%d skipped=0 mismatches=0" % self.nsec, out)
        # Flip one bit of byte 3 of word 5 of sector 2050 (in the second chunk).
        off = 2050 * SECTOR + 5 * 8 + 3
        with open(self.img, "r+b") as f:
            f.seek(off)
            b = f.read(1)[0]
            f.seek(off)
            f.write(bytes([b ^ 0x10]))
        rc, out, _ = run("verify", self.img, "--seed", 3)
        self.assertEqual(rc, 1, out)
        want = word(3, 2050, 5)
        self.assertIn("MISMATCH sector=2050 word=5 got=0x%016x want=0x%016x"
                      % (want ^ (0x10 << 24), want), out)
        self.assertEqual(len(re.findall(r"^MISMATCH", out, re.M)), 1)
        self.assertIn("mismatches=1", out)
        # Skipping that sector (a known failed one) makes the rest pass.
        rc, out, _ = run("verify", self.img, "--seed", 3, "--skip", "2049:2", "--skip", "5:1")
        self.assertEqual(rc, 0, out)
        self.assertIn("skipped=3 mismatches=0", out)
        # A range that avoids it passes too.
        rc, out, _ = run("verify", self.img, "--seed", 3, "--start", 0, "--count", 2050)
        self.assertEqual(rc, 0, out)

    def test_wrong_seed_and_max_report(self):
        self.write(1)
        rc, out, _ = run("verify", self.img, "--seed", 2, "--max-report", 3)
        self.assertEqual(rc, 1)
        self.assertEqual(len(re.findall(r"^MISMATCH sector=\d+ word=0 ", out, re.M)), 3)
        self.assertIn("mismatches=%d" % self.nsec, out)

    def test_partial_range_and_zero(self):
        self.write(1)
        rc, out, err = run("write", self.img, "--seed", 9, "--start", 10, "--count", 10)
        self.assertEqual(rc, 0, err)
        self.assertEqual(run("verify", self.img, "--seed", 9, "--start", 10, "--count", 10)[0], 0)
        rc, out, _ = run("verify", self.img, "--seed", 1, "--max-report", 0)
        self.assertEqual(rc, 1)
        self.assertNotIn("MISMATCH", out)
        self.assertIn("mismatches=10", out)
        rc, _, err = run("zero", self.img, "--start", 100, "--count", 2)
        self.assertEqual(rc, 0, err)
        with open(self.img, "rb") as f:
            f.seek(100 * SECTOR)
            self.assertEqual(f.read(2 * SECTOR), bytes(2 * SECTOR))
            self.assertEqual(f.read(SECTOR), sector_bytes(1, 102))

    def test_base_counts_from_a_partition_start(self):
        """--base B: image sector s holds the pattern of sector s - B (a partition at B)."""
        self.write(1)
        rc, out, err = run("write", self.img, "--seed", 4, "--base", 100, "--count", 20)
        self.assertEqual(rc, 0, err)
        self.assertIn("start=100 sectors=20", out)
        with open(self.img, "rb") as f:
            f.seek(100 * SECTOR)
            self.assertEqual(f.read(SECTOR), sector_bytes(4, 0))
            f.seek(119 * SECTOR)
            self.assertEqual(f.read(SECTOR), sector_bytes(4, 19))
            self.assertEqual(f.read(SECTOR), sector_bytes(1, 120))
        self.assertEqual(run("verify", self.img, "--seed", 4, "--base", 100, "--count", 20)[0], 0)
        rc, out, _ = run("verify", self.img, "--seed", 4, "--base", 100, "--start", 110, "--count", 10)
        self.assertEqual(rc, 0, out)
        # Counted from the image's start instead, the same sectors mismatch.
        self.assertEqual(run("verify", self.img, "--seed", 4, "--start", 100, "--count", 20)[0], 1)
        rc, out, _ = run("verify", self.img, "--seed", 4, "--base", 100, "--count", 21)
        self.assertEqual(rc, 1)
        self.assertIn("MISMATCH sector=120 ", out)
        self.assertEqual(run("verify", self.img, "--seed", 4, "--base", 100, "--start", 99)[0], 2)

    def test_errors(self):
        self.write(1)
        self.assertEqual(run("verify", self.img, "--seed", 1, "--start", self.nsec - 1,
                             "--count", 2)[0], 2)
        self.assertEqual(run("verify", self.img)[0], 2)  # no seed
        self.assertEqual(run("verify", self.img, "--seed", "x1")[0], 2)
        self.assertEqual(run("verify", self.img, "--seed", 1, "--skip", "5")[0], 2)
        self.assertEqual(run("frob", self.img)[0], 2)
        self.assertEqual(run("write", os.path.join(self.dir.name, "none.img"), "--seed", 1)[0], 2)
        self.assertEqual(run("write", self.img, "--seed", 1, "--size", 1000)[0], 2)

    def test_size_suffix_extends_sparse(self):
        rc, _, err = run("zero", self.img, "--size", "3M", "--count", 1)
        self.assertEqual(rc, 0, err)
        self.assertEqual(os.path.getsize(self.img), 3 << 20)

    def test_numbers_read_as_the_guest_reads_them(self):
        # parse_u64 of src/lib/cmdline.c: a leading 0 is decimal (not octal), 0x is hex,
        # K is 1024, and junk, signs or overflow are refused.
        self.write(1)
        rc, out, err = run("verify", self.img, "--seed", 1, "--start", "010", "--count", "0x10")
        self.assertEqual(rc, 0, err)
        self.assertIn("start=10 sectors=16 ", out)
        rc, out, err = run("verify", self.img, "--seed", 1, "--start", "1K", "--count", 1)
        self.assertEqual(rc, 0, err)
        self.assertIn("start=1024 ", out)
        for bad in ("-1", "+1", " 1", "1x", "1KB", "18446744073709551616", "16E"):
            self.assertEqual(run("verify", self.img, "--seed", bad)[0], 2, bad)

    def test_wrapper_builds_and_runs(self):
        if not WRAPPER:
            self.skipTest("no wrapper given")
        rc, out, err = run("word", "--seed", 1, 2048, 63, tool=WRAPPER)
        self.assertEqual(rc, 0, err)
        self.assertEqual(int(out, 16), word(1, 2048, 63))


if __name__ == "__main__":
    BIN = sys.argv[1]
    if len(sys.argv) > 2:
        WRAPPER = sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
