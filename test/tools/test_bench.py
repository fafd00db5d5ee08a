#!/usr/bin/python3
"""Tests of tools/bench and its package tools/benchlib without a guest: its
parsing of BENCH lines, the typed results, the matrices, ratios, medians, the
ceiling's repetitions, the --check rules, JSON/CSV output and plots, and whole
runs with --fake-guest (which synthesises the guest's BENCH lines).

    test_bench.py TOOLS_BENCH
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BENCH_PATH = None
# tools/benchlib's modules, imported by load_benchlib().
benchline = ceiling = checks = cli = fsset = matrix = plots = qemu = report = results = stats = None
units = None

CANNED = {"dev": "vda", "rw": "randread", "bs": 4096, "qd": 32, "threads": 1,
          "engine": "async", "secs": 5, "ios": 206150, "iops": 41230, "mbps": 168.9,
          "lat_us": {"avg": 770.2, "p50": 700, "p99": 1900, "p999": 2600, "max": 5100},
          "bios": 206150, "requests": 206150, "merges": 0, "kicks": 40000, "irqs": 60000,
          "errors": 0, "cpu_util": 0.97, "cpu_ns_per_io": 23500, "avg_request_kib": 4.0}


def load_benchlib(bench_path):
    """Imports tools/benchlib, the package beside tools/bench."""
    sys.dont_write_bytecode = True  # no __pycache__ in tools/
    sys.path.insert(0, os.path.dirname(os.path.abspath(bench_path)))
    import importlib
    g = globals()
    for name in ("benchline", "ceiling", "checks", "cli", "fsset", "matrix", "plots", "qemu", "report",
                 "results", "stats", "units"):
        g[name] = importlib.import_module("benchlib." + name)


def result(point, obj, **kw):
    """A PointResult as run_point makes it, from a Point and one rep's BENCH object."""
    res = results.PointResult(point, reps=[results.Rep(exit=0, raw=obj)])
    res.summarise()
    for k, v in kw.items():
        setattr(res, k, v)
    return res


def a_ceiling(iops, mbps=0.0):
    return ceiling.Ceiling(iops=iops, mbps=mbps, secs=1.0, count=1, cmd="qemu-img bench")


def canned(**changes):
    obj = json.loads(json.dumps(CANNED))
    obj.update(changes)
    return obj


class ParseTest(unittest.TestCase):
    def test_parse_canned_line(self):
        console = "levblk 0.1\nBLKDEV name=vda capacity=2097152\nBENCH %s\nRESULT PASS\n" \
            % json.dumps(CANNED)
        obj = benchline.parse_bench(console)
        self.assertEqual(obj, CANNED)
        self.assertEqual(benchline.bench_problems(obj), [])

    def test_picks_the_requested_disk(self):
        lines = ["BENCH " + json.dumps(canned(dev=d, iops=i))
                 for d, i in (("vda", 1), ("vdb", 2), ("vda,vdb", 3))]
        self.assertEqual(benchline.parse_bench("\n".join(lines), "vdb")["iops"], 2)
        self.assertEqual(benchline.parse_bench("\n".join(lines))["iops"], 1)

    def test_bad_consoles(self):
        with self.assertRaises(ValueError):
            benchline.parse_bench("RESULT PASS\n")
        with self.assertRaises(ValueError):
            benchline.parse_bench('BENCH {"dev": "vda",\nRESULT PASS\n')

    def test_field_problems(self):
        obj = canned()
        del obj["lat_us"]["p999"]
        del obj["kicks"]
        obj["iops"] = "fast"
        probs = benchline.bench_problems(obj)
        self.assertIn("missing field kicks", probs)
        self.assertIn("missing or non-numeric lat_us.p999", probs)
        self.assertIn("field iops is not a number: 'fast'", probs)
        self.assertEqual(len(probs), 3)
        self.assertEqual(benchline.bench_problems([1]), ["BENCH payload is not a JSON object"])


class TypedResultsTest(unittest.TestCase):
    """The dataclasses that carry results: Bench, PointResult, Ceiling."""

    def test_bench_round_trip(self):
        obj = canned(timeouts=0, splits=3)
        b = benchline.Bench.from_obj(obj)
        self.assertEqual((b.iops, b.lat_us.p999, b.engine), (41230, 2600, "async"))
        self.assertEqual(b.more, {"timeouts": 0, "splits": 3})
        self.assertEqual(b.to_json(), obj)
        self.assertEqual(b.recovery(), {})
        self.assertEqual(benchline.Bench.from_obj(canned(resets=2)).recovery(), {"resets": 2})
        bad = canned()
        del bad["irqs"]
        with self.assertRaisesRegex(ValueError, "missing field irqs"):
            benchline.Bench.from_obj(bad)

    def test_point_result_summary(self):
        point = matrix.Point("randread", 4096, 32)
        res = results.PointResult(point, reps=[results.Rep(0, canned(iops=v)) for v in (5, 9, 7)])
        res.reps.append(results.Rep(0, canned(iops="x")))  # a malformed rep is left out
        res.summarise()
        self.assertEqual((res.bench.iops, res.iops_min, res.iops_max), (7, 5, 9))
        self.assertIsNone(res.error)
        data = res.to_json()
        self.assertEqual(data["bench"]["iops"], 7)
        self.assertEqual(data["name"], "randread bs=4k qd=32 async")
        self.assertEqual(len(data["reps"]), 4)
        self.assertNotIn("error", data)
        self.assertNotIn("ceiling", data)

    def test_point_result_all_malformed(self):
        res = results.PointResult(matrix.Point("read", 4096), reps=[results.Rep(0, [1])])
        res.summarise()
        self.assertIsNone(res.bench)
        self.assertEqual(res.error, "BENCH payload is not a JSON object")
        self.assertNotIn("bench", res.to_json())
        self.assertEqual(report.progress_line(1, 1, res),
                         "[1/1] read bs=4k qd=1 async  FAILED: BENCH payload is not a JSON object")

    def test_meta_shape(self):
        args = cli.parse_args(["--fake-guest", "--quick", "--no-build", "--pool-max", "0"])
        res = result(matrix.Point("read", 4096), canned())
        res.reps[0].qemu_cmd = "qemu-system-aarch64 -M virt"
        meta = cli.meta_of(args, "/img", [res]).to_json()
        self.assertEqual(meta["qemu_cmdline"], "qemu-system-aarch64 -M virt")
        self.assertEqual(meta["image"], {"path": "/img", "bytes": 64 * units.MIB, "pattern_seed": 1})
        self.assertIsNone(meta["config"]["thread_pool_max"])
        self.assertEqual(meta["config"]["fake_guest"], "ok")
        self.assertIn("qemu-img bench", meta["ceiling_method"])

    def test_ceiling_median_over_reps(self):
        runs, counts = iter((3000.0, 1000.0, 2000.0)), []

        def fake_run(img, size, rw, bs, depth, cache, target, count=None):
            counts.append(count)
            iops = next(runs)
            return ceiling.Ceiling(iops, iops * bs / 1e6, 1.5, count or 777, "qemu-img bench x")
        real = ceiling.qemu_img_bench
        ceiling.qemu_img_bench = fake_run
        try:
            c = ceiling.measure_ceiling("img", 1 << 20, "read", 4096, 1, "writeback", 1.0, 3)
        finally:
            ceiling.qemu_img_bench = real
        # the first run calibrates the count, the others reuse it
        self.assertEqual(counts, [None, 777, 777])
        self.assertEqual((c.iops, c.count, c.iops_runs), (2000.0, 777, [3000.0, 1000.0, 2000.0]))
        self.assertAlmostEqual(c.mbps, 2000.0 * 4096 / 1e6)
        self.assertEqual(c.to_json()["iops_runs"], [3000.0, 1000.0, 2000.0])


class MatrixTest(unittest.TestCase):
    def test_parse_point(self):
        p = matrix.parse_point("rw=randread bs=4k qd=32 blk.merge=0 secs=2")
        self.assertEqual((p.rw, p.bs, p.qd, p.engine, p.threads), ("randread", 4096, 32, "async", 1))
        self.assertEqual(p.extra, {"blk.merge": "0", "secs": "2"})
        self.assertFalse(p.merging)
        words = p.guest_words({"secs": "5"})
        self.assertIn("secs=2", words)
        self.assertIn("blk.merge=0", words)
        self.assertEqual(words[0], "run=bench")
        self.assertIn("ios=9", matrix.parse_point("rw=read bs=512 ios=9").guest_words({"secs": "5"}))
        self.assertNotIn("secs=5", matrix.parse_point("rw=read bs=512 ios=9").guest_words({"secs": "5"}))
        for bad in ("rw=randread", "rw=scan bs=4096", "rw=read bs=1000", "rw=read bs=4096 qd=0",
                    "rw=read bs=4096 engine=turbo", "rw=read bs=2M", "oops"):
            with self.assertRaises(ValueError, msg=bad):
                matrix.parse_point(bad)

    def test_standard_matrix_is_the_issue_matrix(self):
        m = matrix.standard_matrix()
        asyncs = {(p.rw, p.bs, p.qd) for p in m if p.engine == "async" and p.merging}
        want = {("randread", 4096, q) for q in (1, 4, 16, 32, 128)} | {
            ("randwrite", 4096, 1), ("randwrite", 4096, 32), ("randrw", 4096, 32),
            ("read", 4096, 32), ("write", 4096, 32), ("read", 131072, 8), ("write", 131072, 8),
            ("read", 1048576, 4), ("write", 1048576, 4)}
        self.assertEqual(asyncs, want)
        syncs = {(p.rw, p.bs) for p in m if p.engine == "sync"}
        self.assertEqual(syncs, {(rw, bs) for rw, bs, _ in want})
        self.assertTrue(all(p.qd == 1 for p in m if p.engine == "sync"))
        self.assertEqual([p.label() for p in m if not p.merging],
                         ["write bs=4k qd=32 async blk.merge=0"])

    def test_vq_matrix_rings_and_coalescing(self):
        m = matrix.vq_matrix()
        got = {(p.rw, p.bs, p.qd, p.extra["vq.packed"], p.extra["vq.coalesce"]) for p in m}
        want = {("randread", 4096, q, r, c) for q in (1, 4, 8, 16, 32) for r in "01"
                for c in "01"}
        self.assertEqual(got, want)
        self.assertEqual(len(m), 20)
        self.assertTrue(all(p.engine == "async" for p in m))

    def test_quick_matrix_has_what_check_needs(self):
        res = [result(p, benchline.parse_bench(qemu.fake_console(p, "ok", 1)[0]))
               for p in matrix.quick_matrix()]
        self.assertEqual(checks.check_results(res), [])

    def test_coprime_stride(self):
        import math
        for n in (1, 2, 1 << 18, 1000, 12289):
            s = ceiling.coprime_stride(n)
            self.assertEqual(math.gcd(s, n), 1, n)


class RatioCheckTest(unittest.TestCase):
    def setUp(self):
        P = matrix.Point
        self.sync = result(P("randread", 4096, 1, "sync"), canned(engine="sync", qd=1, iops=10000,
                                                                 irqs=0))
        self.asy = result(P("randread", 4096, 32), canned(iops=40000),
                          ceiling=a_ceiling(100000.0, 409.6))
        self.seqw = result(P("write", 4096, 32), canned(rw="write", iops=30000, bios=1000,
                                                       requests=100))
        self.nomerge = result(P("write", 4096, 32, extra={"blk.merge": "0"}),
                              canned(rw="write", iops=6000, bios=1000, requests=1000))
        self.syncw = result(P("write", 4096, 1, "sync"), canned(rw="write", engine="sync", qd=1,
                                                               irqs=0, iops=5000))
        self.all = [self.sync, self.asy, self.seqw, self.nomerge, self.syncw]

    def test_ratios(self):
        stats.add_ratios(self.all)
        self.assertAlmostEqual(self.asy.ratio_ceiling, 0.4)
        self.assertAlmostEqual(self.asy.ratio_sync, 4.0)
        self.assertAlmostEqual(self.seqw.ratio_sync, 6.0)
        self.assertIsNone(self.sync.ratio_sync)
        self.assertIsNone(self.nomerge.ratio_sync)
        self.assertAlmostEqual(self.nomerge.merge_gain, 5.0)
        line = report.progress_line(2, 5, self.asy)
        self.assertEqual(line, "[2/5] randread bs=4k qd=32 async  40000 IOPS  p99 1.9 ms"
                               "  0.40x ceiling  4.00x sync")

    def test_median(self):
        objs = [canned(iops=v, lat_us=dict(CANNED["lat_us"], p99=v)) for v in (3, 1, 2)]
        m = stats.median_bench([benchline.Bench.from_obj(o) for o in objs])
        self.assertEqual((m.iops, m.lat_us.p99), (2, 2))

    def test_check_good(self):
        self.assertEqual(checks.check_results(self.all), [])

    def test_check_merging(self):
        self.seqw.reps[0].raw["requests"] = 250  # exactly a quarter is not enough
        probs = checks.check_results(self.all)
        self.assertEqual(len(probs), 1)
        self.assertIn("requests=250 not fewer than a quarter of bios=1000", probs[0])

    def test_check_sync_irqs_errors_and_fields(self):
        self.syncw.reps[0].raw["irqs"] = 3
        self.asy.reps[0].raw["errors"] = 2
        del self.sync.reps[0].raw["avg_request_kib"]
        probs = checks.check_results(self.all)
        self.assertEqual(len(probs), 3, probs)
        self.assertTrue(any("irqs=3, want 0 for engine=sync" in p for p in probs))
        self.assertTrue(any("errors=2, want 0" in p for p in probs))
        self.assertTrue(any("missing field avg_request_kib" in p for p in probs))

    def test_check_needs_its_points(self):
        probs = checks.check_results([self.asy])
        self.assertEqual(len(probs), 2, probs)
        self.assertEqual(checks.check_results([])[0], "no points ran")

    def test_failed_point(self):
        bad = result(matrix.Point("read", 4096, 1, "sync"), None, error="no BENCH line")
        self.assertIn("read bs=4k qd=1 sync: no BENCH line", checks.check_results(self.all + [bad]))

    def test_json_csv_and_plots(self):
        stats.add_ratios(self.all)
        with tempfile.TemporaryDirectory() as d:
            report.write_outputs(d, {"qemu_version": "x"}, self.all)
            with open(os.path.join(d, "results.json")) as f:
                data = json.load(f)
            self.assertEqual(len(data["points"]), 5)
            self.assertEqual(data["points"][1]["bench"]["iops"], 40000)
            with open(os.path.join(d, "results.csv")) as f:
                rows = list(csv.DictReader(f))
            self.assertEqual(len(rows), 5)
            self.assertEqual(float(rows[1]["ratio_sync"]), 4.0)
            self.assertEqual(rows[3]["extra"], "blk.merge=0")
            if shutil.which("gnuplot"):
                pngs = plots.draw_plots(d, self.all, "test")
                self.assertEqual([os.path.basename(p) for p in pngs],
                                 ["iops_vs_qd.png", "mbps_vs_bs.png"])
                for p in pngs:
                    with open(p, "rb") as f:
                        self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


class FakeRunTest(unittest.TestCase):
    """Whole runs of tools/bench with the fake guest (no QEMU, no kernel)."""

    def run_bench(self, *args, env=None):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        p = subprocess.run([sys.executable, BENCH_PATH, "--quick", "--no-build", "--check",
                            "--size", "8M", "--out", self.dir, *args],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout + p.stderr

    def results(self):
        with open(os.path.join(self.dir, "results.json")) as f:
            return json.load(f)

    def test_through_a_fake_qemu_boot(self):
        fake = {"LEVBLK_QEMU_BOOT": os.path.join(os.path.dirname(__file__), "fake_qemu_boot.py")}
        rc, out = self.run_bench("--no-ceiling", "--gic", "2", "--legacy", "--cache", "none",
                                 "--kernel", "/k.elf", "--pool-max", "3", env=fake)
        self.assertEqual(rc, 0, out)
        data = self.results()
        self.assertIn("-append 'run=bench dev=vda rw=randread", data["meta"]["qemu_cmdline"])
        for p in data["points"]:
            argv = p["reps"][0]["raw"]["argv"]
            flags = argv[:argv.index("--")]
            self.assertIn("--legacy", flags)
            self.assertEqual(flags[flags.index("--gic") + 1], "2")
            self.assertEqual(flags[flags.index("--kernel") + 1], "/k.elf")
            disk = flags[flags.index("--disk") + 1]
            self.assertEqual(disk, os.path.join(self.dir, "bench.img") + ",cache=none")
            # QEMU's own merging is off for every guest (the blk.merge=0 comparison).
            i = flags.index("-global")
            self.assertEqual(flags[i - 1], "--qemu")
            self.assertEqual(flags[i + 1:i + 3], ["--qemu", "virtio-blk-device.request-merging=off"])
            # --pool-max caps QEMU's thread pool (its aio=threads workers).
            i = flags.index("-object")
            self.assertEqual(flags[i - 1:i + 3],
                             ["--qemu", "-object", "--qemu", "main-loop,id=lbmain,thread-pool-max=3"])
            self.assertIn("engine=" + p["engine"], argv)
            self.assertIn("ios=", " ".join(argv))
        self.assertEqual(data["meta"]["config"]["thread_pool_max"], 3)
        # The default is one worker per host CPU with the page cache (writeback),
        # QEMU's own pool with cache=none; --pool-max 0 leaves QEMU's pool alone.
        rc, out = self.run_bench("--no-ceiling", env=fake)
        self.assertEqual(rc, 0, out)
        argv = self.results()["points"][0]["reps"][0]["raw"]["argv"]
        self.assertIn("main-loop,id=lbmain,thread-pool-max=%d" % len(os.sched_getaffinity(0)), argv)
        rc, out = self.run_bench("--no-ceiling", "--cache", "none", env=fake)
        self.assertEqual(rc, 0, out)
        argv = self.results()["points"][0]["reps"][0]["raw"]["argv"]
        self.assertNotIn("-object", argv)
        rc, out = self.run_bench("--no-ceiling", "--pool-max", "0", env=fake)
        self.assertEqual(rc, 0, out)
        argv = self.results()["points"][0]["reps"][0]["raw"]["argv"]
        self.assertNotIn("-object", argv)
        self.assertIsNone(self.results()["meta"]["config"]["thread_pool_max"])
        rc, out = self.run_bench("--no-ceiling", "--pool-max", "-1", env=fake)
        self.assertEqual(rc, 2, out)
        rc, out = self.run_bench("--no-ceiling", env=dict(fake, FAKE_BOOT_EXIT="3"))
        self.assertEqual(rc, 1, out)
        self.assertIn("QEMU exited with 3", out)

    def test_smp_set_boots_vcpus_and_queues(self):
        """--smp-set: each point boots as many vCPUs as bench threads, the disk
        offers as many queues, blk.mq=1 and (from 2 vCPUs) blk.mq=0; the
        summary lists IOPS per vCPU count; results go to OUT/smp/."""
        fake = {"LEVBLK_QEMU_BOOT": os.path.join(os.path.dirname(__file__), "fake_qemu_boot.py")}
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        p = subprocess.run([sys.executable, BENCH_PATH, "--smp-set", "--no-build", "--no-ceiling",
                            "--secs", "1", "--size", "8M", "--out", self.dir],
                           capture_output=True, text=True, timeout=300, env=dict(os.environ, **fake))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(self.dir, "smp", "results.json")) as f:
            points = json.load(f)["points"]
        self.assertEqual(len(points), 15)  # 3 workloads x (1 + 2 + 2)
        seen = set()
        for pt in points:
            argv = pt["reps"][0]["raw"]["argv"]
            flags = argv[:argv.index("--")]
            n = int(flags[flags.index("--smp") + 1]) if "--smp" in flags else 1
            self.assertIn("threads=%d" % n, argv)
            disk = flags[flags.index("--disk") + 1]
            self.assertTrue(disk.endswith(",queues=%d" % n), disk)
            mq = [w for w in argv if w.startswith("blk.mq=")]
            self.assertEqual(len(mq), 1)
            seen.add((pt["rw"], n, mq[0]))
        self.assertIn(("randwrite", 4, "blk.mq=0"), seen)
        self.assertNotIn(("randread", 1, "blk.mq=0"), seen)
        self.assertIn("IOPS mq=1", p.stdout)
        self.assertRegex(p.stdout, r"randread bs=4k qd=32 +4 +[0-9]+ +[0-9]+")

    def test_image_warmed_before_every_run(self):
        """Every guest boot and every qemu-img bench run reads the image first
        (warm_image), against the host's proactive page-cache reclaim."""
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        calls = []
        real = qemu.warm_image
        qemu.warm_image = lambda img: calls.append(("warm", img))
        real_guest = qemu.run_guest
        try:
            def fake_guest(point, args, img, defaults, workdir):
                calls.append(("guest", img))
                return real_guest(point, args, img, defaults, workdir)
            qemu.run_guest = fake_guest
            args = cli.parse_args(["--fake-guest", "--quick", "--reps", "2", "--no-build"])
            img = os.path.join(self.dir, "w.img")
            with open(img, "wb") as f:
                f.truncate(units.MIB)
            point = matrix.parse_point("rw=read bs=4096 qd=1")
            cli.run_point(point, args, img, units.MIB, {"secs": "1"}, {}, self.dir)
        finally:
            qemu.warm_image, qemu.run_guest = real, real_guest
        guests = [i for i, c in enumerate(calls) if c[0] == "guest"]
        self.assertEqual(len(guests), 2, calls)
        for i in guests:
            self.assertEqual(calls[i - 1], ("warm", img), calls)
        # the ceiling's qemu-img runs are warmed too: more warms than guest runs
        self.assertGreater(sum(c[0] == "warm" for c in calls), 2, calls)

    def test_quick_ok_with_ceiling(self):
        rc, out = self.run_bench("--fake-guest")
        self.assertEqual(rc, 0, out)
        self.assertIn("[6/6] read bs=128k qd=8 async ios=200", out)
        self.assertIn("check: OK (6 points)", out)
        data = self.results()
        for k in ("qemu_version", "host_cpus", "date", "git_commit", "qemu_cmdline"):
            self.assertIn(k, data["meta"])
        pts = data["points"]
        self.assertEqual(len(pts), 6)
        self.assertTrue(all(p["ceiling"]["iops"] > 0 for p in pts))
        self.assertTrue(all(p["ratio_sync"] > 0 for p in pts if p["engine"] == "async"))

    def test_points_do_not_replace_the_matrix(self):
        rc, out = self.run_bench("--fake-guest", "--no-ceiling")
        self.assertEqual(rc, 0, out)
        before = self.results()
        p = subprocess.run([sys.executable, BENCH_PATH, "--no-build", "--no-ceiling",
                            "--fake-guest", "--size", "8M", "--out", self.dir,
                            "--point", "rw=randread bs=4096 qd=4 ios=100"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.results(), before)
        with open(os.path.join(self.dir, "points", "results.json")) as f:
            self.assertEqual([q["name"] for q in json.load(f)["points"]],
                             ["randread bs=4k qd=4 async ios=100"])

    def test_vq_matrix_offers_the_packed_ring(self):
        fake = {"LEVBLK_QEMU_BOOT": os.path.join(os.path.dirname(__file__), "fake_qemu_boot.py")}
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        p = subprocess.run([sys.executable, BENCH_PATH, "--no-build", "--no-ceiling", "--vq",
                            "--secs", "1", "--size", "8M", "--out", self.dir],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, **fake))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        with open(os.path.join(self.dir, "vq", "results.json")) as f:
            data = json.load(f)
        self.assertTrue(data["meta"]["config"]["packed_offered"])
        self.assertEqual(len(data["points"]), 20)
        for pt in data["points"]:
            argv = pt["reps"][0]["raw"]["argv"]
            flags = argv[:argv.index("--")]
            self.assertTrue(flags[flags.index("--disk") + 1].endswith(",packed"))
            self.assertIn("vq.packed=" + pt["extra"]["vq.packed"], argv)
            self.assertIn("vq.coalesce=" + pt["extra"]["vq.coalesce"], argv)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "results.json")))
        if shutil.which("gnuplot"):
            for png in ("vq_iops.png", "vq_p99.png", "vq_irqs.png"):
                with open(os.path.join(self.dir, "vq", png), "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        series = plots.vq_series([result(pt, benchline.parse_bench(
            qemu.fake_console(pt, "ok", 1)[0])) for pt in matrix.vq_matrix()])
        self.assertEqual(sorted(series), ["packed, coalesce off", "packed, coalesce on",
                                          "split, coalesce off", "split, coalesce on"])
        self.assertEqual([row[0] for row in series["split, coalesce on"]], [1, 4, 8, 16, 32])
        p = subprocess.run([sys.executable, BENCH_PATH, "--no-build", "--packed", "--legacy",
                            "--fake-guest", "--out", self.dir], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)

    def test_quick_reps_and_broken_guests(self):
        rc, out = self.run_bench("--fake-guest", "--no-ceiling", "--reps", "3")
        self.assertEqual(rc, 0, out)
        self.assertIn("(min ", out)
        for mode, want in (("nomerge", "not fewer than a quarter of bios"),
                           ("syncirq", "want 0 for engine=sync"), ("errors", "errors=1, want 0"),
                           ("missing", "missing field cpu_util"), ("fail", "QEMU exited with 1"),
                           ("stuck", "needed the deadline recovery (timeouts=1, resets=1)")):
            rc, out = self.run_bench("--fake-guest=" + mode, "--no-ceiling")
            self.assertEqual(rc, 1, mode)
            self.assertIn(want, out, mode)
            self.assertIn("check: FAIL\n", out, mode)


class FsSetTest(unittest.TestCase):
    """tools/bench --fs: the lines it reads and the medians and ratios it reports."""

    def test_json_line_takes_the_last(self):
        console = 'x\nFSBENCH {"mbps": 1}\nFSBENCH {"mbps": 2}\nRESULT PASS\n'
        self.assertEqual(fsset.json_line(console, "FSBENCH"), {"mbps": 2})
        with self.assertRaises(ValueError):
            fsset.json_line("BENCH {}\n", "FSBENCH")

    def test_medians_and_ratios(self):
        def rep(raw, seq, ra0, failed_write=False):
            return {"raw": {"mbps": raw, "requests": 10}, "seqread": {"mbps": seq, "requests": 5},
                    "seqread_ra0": {"mbps": ra0, "requests": 50},
                    "seqwrite": {"error": "no FSBENCH line"} if failed_write else
                    {"mbps": 100, "requests": 4, "avg_request_kib": 128},
                    "smallfiles": {"mbps": 1, "files_per_s": 500, "requests": 30, "files": 200}}
        s = fsset.summarise([rep(1000, 700, 50), rep(2000, 900, 70, True), rep(3000, 800, 60)])
        m = s["medians"]
        self.assertEqual(m["raw"]["mbps"], 2000)
        self.assertEqual(m["seqread"]["mbps"], 800)
        self.assertEqual(m["seqwrite"]["reps"], 2)  # the failed repetition is left out
        self.assertAlmostEqual(s["ratios"]["seqread_vs_raw"], 0.4)
        self.assertAlmostEqual(s["ratios"]["seqread_vs_no_readahead"], 800 / 60)
        self.assertAlmostEqual(s["ratios"]["smallfiles_requests_per_file"], 30 / 200)

    def test_a_workload_failed_everywhere_is_an_error(self):
        s = fsset.summarise([{name: {"error": "QEMU status 1"} for name in fsset.WORKLOADS}])
        self.assertIn("error", s["medians"]["seqread"])
        self.assertNotIn("seqread_vs_raw", s["ratios"])


if __name__ == "__main__":
    BENCH_PATH = sys.argv[1]
    load_benchlib(BENCH_PATH)
    unittest.main(argv=sys.argv[:1], verbosity=2)
