#!/usr/bin/python3
"""Stands in for tools/qemu-boot in the tests of tools/bench: prints what
qemu-boot --print-cmd prints on stderr and a guest console with one BENCH line
built from the run=bench words after `--`, carrying its own argv (field
`argv`) so the test can see the flags tools/bench passed. FAKE_BOOT_EXIT sets
the exit status (with RESULT FAIL when it is not 0)."""
import json
import os
import sys

argv = sys.argv[1:]
words = dict(w.split("=", 1) for w in argv[argv.index("--") + 1:])
print("qemu-boot: qemu-system-aarch64 -M virt -append '%s'"
      % " ".join("%s=%s" % kv for kv in words.items()), file=sys.stderr)
bios = int(words.get("ios", "1000"))
seq_async = words["rw"] in ("read", "write") and words["engine"] == "async"
reqs = bios // 8 if seq_async and words.get("blk.merge", "1") == "1" else bios
obj = {"dev": words["dev"], "rw": words["rw"], "bs": int(words["bs"]), "qd": int(words["qd"]),
       "threads": int(words["threads"]), "engine": words["engine"], "secs": 1, "ios": bios,
       "iops": bios, "mbps": bios * int(words["bs"]) / 1e6,
       "lat_us": {"avg": 10, "p50": 9, "p99": 30, "p999": 40, "max": 50},
       "bios": bios, "requests": reqs, "merges": bios - reqs, "kicks": reqs // 4,
       "irqs": 0 if words["engine"] == "sync" else reqs // 2, "errors": 0, "cpu_util": 1.0,
       "cpu_ns_per_io": 1000, "avg_request_kib": bios * int(words["bs"]) / 1024 / reqs,
       "argv": argv}
status = int(os.environ.get("FAKE_BOOT_EXIT", "0"))
print("levblk: booting\nBENCH " + json.dumps(obj))
print("RESULT PASS" if status == 0 else "RESULT FAIL fake")
sys.exit(status)
