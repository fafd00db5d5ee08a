#!/usr/bin/env python3
"""tools/fs-check against images the host's mke2fs makes from a small tree and
console logs written here: the right lines pass, and each kind of difference
(a wrong size or hash, a missing or extra entry, a wrong type or symlink
target, FSWRITE counts that do not add up, an image e2fsck finds damaged, a
FSSYNCED file missing or different) fails with a line naming it; the same on
a GPT partition.

  test_fs_check.py TOOLS/fs-check
"""
import hashlib
import os
import subprocess
import sys
import tempfile

SBIN = "/sbin:/usr/sbin"
failures = 0


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True,
                          env=dict(os.environ, PATH=os.environ["PATH"] + ":" + SBIN), **kw)


def make_tree(root):
    w = os.path.join(root, "fswrite")
    os.makedirs(os.path.join(w, "d1", "d2"))
    os.makedirs(os.path.join(w, "empty"))
    with open(os.path.join(w, "a"), "wb") as f:
        f.write(b"alpha\n" * 1000)
    with open(os.path.join(w, "d1", "holes"), "wb") as f:
        f.write(b"x")
        f.seek(300000)
        f.write(b"y")
    open(os.path.join(w, "d1", "d2", "zero"), "wb").close()
    os.link(os.path.join(w, "a"), os.path.join(w, "d1", "a-link"))
    os.symlink("../a", os.path.join(w, "d1", "sym"))
    os.symlink("nowhere/" * 20, os.path.join(w, "long-dangling"))
    os.makedirs(os.path.join(root, "durable"))
    for i in range(3):
        with open(os.path.join(root, "durable", f"f{i}"), "wb") as f:
            f.write(bytes([i]) * (5000 * i + 1))
    with open(os.path.join(root, "SHA256SUMS"), "w") as f:
        for rel in ("fswrite/a", "durable/f2"):
            digest = hashlib.sha256(open(os.path.join(root, rel), "rb").read()).hexdigest()
            f.write(f"{digest}  ./{rel}\n")


def lines_for(root):
    """The lines run=fswrite would print for ROOT/fswrite, and FSSYNCED lines for ROOT/durable."""
    out, files, total = [], 0, 0
    for base, dirs, names in sorted(os.walk(os.path.join(root, "fswrite"))):
        rel = "/" + os.path.relpath(base, root)
        for d in sorted(dirs):
            p = os.path.join(base, d)
            out.append(f"FSLINK path={rel}/{d} target={os.readlink(p)}" if os.path.islink(p)
                       else f"FSDIR path={rel}/{d}")
        for n in sorted(names):
            p = os.path.join(base, n)
            if os.path.islink(p):
                out.append(f"FSLINK path={rel}/{n} target={os.readlink(p)}")
            else:
                data = open(p, "rb").read()
                out.append(f"FSFILE size={len(data)} sha256={hashlib.sha256(data).hexdigest()} path={rel}/{n}")
                files += 1
                total += len(data)
    out.append(f"FSWRITE dev=vda ops=10 files={files} bytes={total} errors=0")
    synced = []
    for n in sorted(os.listdir(os.path.join(root, "durable"))):
        data = open(os.path.join(root, "durable", n), "rb").read()
        synced.append(f"FSSYNCED size={len(data)} sha256={hashlib.sha256(data).hexdigest()} path=/durable/{n}")
    return out, synced


def flip_hash(line):
    """The line with the first digit of its SHA-256 changed."""
    i = line.index("sha256=") + len("sha256=")
    return line[:i] + ("1" if line[i] == "0" else "0") + line[i + 1:]


def run(tool, args, want_rc, want_text, what):
    global failures
    r = subprocess.run([tool] + args, capture_output=True, text=True)
    ok = r.returncode == want_rc and want_text in r.stdout
    print(f"{'ok' if ok else 'FAIL'}: {what}")
    if not ok:
        failures += 1
        print(f"  exit {r.returncode} (want {want_rc}), want text {want_text!r}\n  {r.stdout}{r.stderr}")


def console(tmp, name, lines):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("boot noise\r\n" + "".join(line + "\r\n" for line in lines) + "RESULT PASS\r\n")
    return path


def main():
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="test_fs_check.") as tmp:
        root = os.path.join(tmp, "tree")
        make_tree(root)
        good, synced = lines_for(root)
        img = os.path.join(tmp, "whole.img")
        sh("truncate", "-s", "16M", img)
        sh("mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", root, img)
        log = console(tmp, "good.log", good)
        run(tool, ["fswrite", "--image", img, "--console", log], 0, "fswrite: 9 entries (4 files, 312001 bytes)", "the right lines pass")

        def variant(name, lines, want, what):
            run(tool, ["fswrite", "--image", img, "--console", console(tmp, name, lines)], 1, want, what)

        variant("size.log", [l.replace("size=6000 ", "size=6001 ") for l in good],
                "/fswrite/a: listed as file size=6001", "a wrong size fails")
        variant("hash.log", [flip_hash(l) if l.endswith("path=/fswrite/d1/holes") else l for l in good],
                "/fswrite/d1/holes: listed as file size=300001 sha256=", "a wrong hash fails")
        variant("missing.log", [l for l in good if "path=/fswrite/d1/d2/zero" not in l] +
                ["FSWRITE dev=vda ops=10 files=3 bytes=312001 errors=0"], "/fswrite/d1/d2/zero: file",
                "an entry without its line fails")
        variant("extra.log", good + ["FSDIR path=/fswrite/ghost"], "/fswrite/ghost: listed as dir",
                "a line for nothing fails")
        variant("type.log", [l if "path=/fswrite/empty" not in l else "FSLINK path=/fswrite/empty target=x"
                             for l in good], "/fswrite/empty: listed as link", "a wrong type fails")
        variant("target.log", [l.replace("target=../a", "target=../b") for l in good],
                "/fswrite/d1/sym: listed as link target=../b", "a wrong symlink target fails")
        variant("count.log", [l.replace("files=4 ", "files=5 ") for l in good], "FSWRITE says files=5",
                "FSWRITE counts that do not add up fail")
        variant("nosummary.log", [l for l in good if not l.startswith("FSWRITE")], "no FSWRITE line",
                "a run without its FSWRITE line fails")

        # An image e2fsck finds damaged: /fswrite/a's link count changed behind its back.
        bad = os.path.join(tmp, "bad.img")
        sh("cp", img, bad)
        sh("debugfs", "-w", "-R", "sif /fswrite/a links_count 5", bad)
        run(tool, ["fswrite", "--image", bad, "--console", log], 1, "e2fsck -fn exit 4", "a damaged image fails")
        run(tool, ["e2fsck", "--image", bad], 1, "e2fsck -fn exit 4", "e2fsck alone: damaged fails")
        run(tool, ["e2fsck", "--image", bad, "--fix"], 0, "e2fsck: clean PASS", "e2fsck --fix repairs it")

        # The same tree inside GPT partition 2, 1 KiB blocks.
        gpt = os.path.join(tmp, "gpt.img")
        sh("truncate", "-s", "16M", gpt)
        sh("sfdisk", "-q", gpt, input="label: gpt\nstart=2048, size=2048\nstart=4096\n")
        sh("mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", root, "-E", f"offset={4096 * 512}", gpt, "6000")
        run(tool, ["fswrite", "--image", gpt, "--partition", "2", "--console", log], 0, "PASS",
            "a GPT partition passes")
        run(tool, ["fswrite", "--image", gpt, "--console", log], 1, "FAIL", "the whole GPT disk is not the fs")

        # fsdurable: the synced files are there; one missing or different fails.
        slog = console(tmp, "synced.log", synced)
        run(tool, ["fsdurable", "--image", img, "--console", slog], 0, "3 FSSYNCED files intact",
            "synced files that are there pass")
        run(tool, ["fsdurable", "--image", img, "--console",
                   console(tmp, "synced-missing.log", synced + [synced[0].replace("/durable/f0", "/durable/f9")])],
            1, "/durable/f9: FSSYNCED size=1, not in the image", "a synced file that is not there fails")
        run(tool, ["fsdurable", "--image", img, "--console",
                   console(tmp, "synced-size.log", [synced[1].replace("size=5001", "size=5000")])],
            1, "/durable/f1: FSSYNCED size=5000", "a synced file of another size fails")
        dam = os.path.join(tmp, "durable-damaged.img")
        sh("cp", img, dam)
        sh("debugfs", "-w", "-R", "sif /durable/f2 links_count 3", dam)
        run(tool, ["fsdurable", "--image", dam, "--console", slog], 0, "e2fsck -fy exit 1",
            "fsdurable repairs what e2fsck -fy can and then checks")
        # A clean file system whose superblock says "not clean" (e2fsck -fn passes it): not a clean unmount.
        dirty = os.path.join(tmp, "notclean.img")
        sh("cp", img, dirty)
        sh("debugfs", "-w", "-R", "ssv state 0", dirty)
        run(tool, ["fswrite", "--image", dirty, "--console", log], 1, 'state is "not clean" after the unmount',
            "a superblock left not clean fails")
        run(tool, ["state", "--image", dirty, "--want", "not-clean"], 0, '"not clean" PASS', "state: not clean")
        run(tool, ["state", "--image", img, "--want", "not-clean"], 1, "FAIL", "state: clean is not not-clean")

        # intact: the files the image's SHA256SUMS lists, after e2fsck -fy.
        run(tool, ["intact", "--image", img], 0, "2 listed files intact", "intact: unchanged files pass")
        changed = os.path.join(tmp, "changed.img")
        sh("cp", img, changed)
        block = int(sh("debugfs", "-R", "bmap /durable/f2 0", changed).stdout.split()[0])
        with open(changed, "r+b") as f:
            f.seek(block * 1024 + 7)
            f.write(b"!")
        run(tool, ["intact", "--image", changed], 1, "./durable/f2: sha256", "intact: a changed file fails")
    print(f"{failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
