# Spinlocks and CPUs. The lock checks on a CPU without the LSE atomics (the
# default cortex-a72: LDAXR/STLXR) run in every run=selftest; on -cpu max the
# ticket locks take LDADDA instead.
levblk_qemu_test(NAME selftest.spin_lse TIMEOUT 120 ARGS --cpu max APPEND "run=selftest only=spin."
                 EXPECT_REGEX "ticket locks use LSE" "RESULT PASS")

# Every CPU at work (every CPU the device tree lists is brought up, smp.cpus=
# brings up fewer): the smp.* selftests on 2, 4 and 8 vCPUs, GICv2 and GICv3, and
# the whole suite on 2, 4 and 8. On 8 vCPUs over this host's 2 cores the whole
# suite needs the halting lock waiters (levblk/hal/spinlock.h): a ticket handed
# to a vCPU the host has descheduled used to cost every spinning waiter a host
# time slice (kmem.stress alone: 3 min 12 s spinning, 33 s halting).
foreach(g 2 3)
  foreach(n 2 4 8)
    levblk_qemu_test(NAME selftest.smp${n}_gic${g} TIMEOUT 400 ARGS --gic ${g} --smp ${n}
                     APPEND "run=selftest only=smp."
                     EXPECT_REGEX "smp: ${n} CPUs online" "# ${n} CPUs online" "RESULT PASS")
  endforeach()
  foreach(n 4 8)
    levblk_qemu_test(NAME selftest.all_smp${n}_gic${g} TIMEOUT 400 ARGS --gic ${g} --smp ${n}
                     APPEND "run=selftest"
                     EXPECT_REGEX "smp: ${n} CPUs online" "RESULT PASS")
  endforeach()
endforeach()
levblk_qemu_test(NAME selftest.all_smp2 TIMEOUT 400 ARGS --smp 2 APPEND "run=selftest"
                 EXPECT_REGEX "smp: 2 CPUs online" "RESULT PASS")
# Without halting waiters (lock.halt=0) the halting test fails: it can.
levblk_qemu_test(NAME selftest.lock_halt_off_fails TIMEOUT 120 ARGS --smp 2
                 APPEND "run=selftest only=smp.lock_wait lock.halt=0"
                 EXPECT_EXIT 1 EXPECT_REGEX "halted 0" "RESULT FAIL")

# The block layer with every CPU of an 8-vCPU machine: fill/check over two disks
# (one with 4 queues), GICv2 and GICv3; one thread per CPU.
foreach(g 2 3)
  # Disk n's one interrupt line goes to CPU n (virtio_irq_cpu), and is taken there.
  blk_pattern_test(NAME blk.fill.smp8_gic${g} MODE guest-fill DISKS 16M,queues=4 8M
                   BOOT --smp 8 --gic ${g} EXPECT "smp: 8 CPUs online"
                   "# vda interrupts: q0 irq=[0-9]+ cpu=0 taken=[1-9][0-9]* away=0,"
                   "# vdb interrupts: q0 irq=[0-9]+ cpu=1 taken=[1-9][0-9]* away=0")
  blk_pattern_test(NAME blk.check.smp8_gic${g} MODE host-write DISKS 16M,queues=4 8M
                   BOOT --smp 8 --gic ${g} EXPECT "smp: 8 CPUs online")
endforeach()

# A CPU that PSCI refuses (smp.fail_cpu: it is asked for at an MPIDR no CPU has) is
# reported and the others come up.
levblk_qemu_test(NAME smp.cpu_refused TIMEOUT 200 ARGS --smp 4
                 APPEND "run=selftest only=smp.every smp.cpus=4 smp.fail_cpu=2"
                 EXPECT_REGEX "smp: CPU mpidr 0x2 did not start .PSCI CPU_ON: -22."
                              "smp: 3 CPUs online" "RESULT PASS")

# smp.cpus= brings up fewer CPUs than QEMU has.
levblk_qemu_test(NAME smp.cpus_limit TIMEOUT 120 ARGS --smp 4 APPEND "run=selftest only=smp.every smp.cpus=2"
                 EXPECT_REGEX "smp: 2 CPUs online" "RESULT PASS")

# The bench spreads its threads over the CPUs: 4 threads on 2 vCPUs report cpus 2, and
# on one CPU cpus 1 (tools/bench-check: every field, errors 0, ios == bios).
levblk_bench_test(NAME smp2_threads4 APPEND "rw=randread bs=4096 qd=8 threads=4 ios=2000 engine=async"
                  CHECKS --ios 2000 --field cpus=2 ARGS --smp 2 TIMEOUT 300)
levblk_bench_test(NAME smp1_threads4 APPEND "rw=randread bs=4096 qd=8 threads=4 ios=2000 engine=async"
                  CHECKS --ios 2000 --field cpus=1)
# Eight vCPUs on this host's two cores: alone, or a parallel ctest starves them.
foreach(g 2 3)
  set_tests_properties(qemu.selftest.all_smp8_gic${g} PROPERTIES RUN_SERIAL TRUE)
endforeach()

# blk.complete_ipi=1: every bio ends on the CPU that submitted it (fill's threads
# are pinned, the disk's one line goes to CPU 0), handed over with the work SGI.
blk_pattern_test(NAME blk.fill.complete_ipi_smp4_gic3 MODE guest-fill DISKS 16M
                 BOOT --smp 4 --gic 3 APPEND blk.complete_ipi=1
                 EXPECT "# vda ends: on another CPU than the submitter 0, handed over [1-9]")
blk_pattern_test(NAME blk.check.complete_ipi_smp4_gic2 MODE host-write DISKS 16M,queues=2
                 BOOT --smp 4 --gic 2 APPEND blk.complete_ipi=1
                 EXPECT "# vda ends: on another CPU than the submitter 0, handed over [1-9]")

# Three disks (one with 4 queues, one with 4 KiB sectors) on 4 vCPUs, a thread per CPU each.
blk_pattern_test(NAME blk.fill.three_disks_smp4 MODE guest-fill DISKS 16M,queues=4 8M,lbs=4096 8M
                 BOOT --smp 4 EXPECT "smp: 4 CPUs online" "vdc: virtio-blk")
blk_pattern_test(NAME blk.check.three_disks_smp4_legacy_gic2 MODE host-write
                 DISKS 16M,queues=2 8M,lbs=4096 8M BOOT --smp 4 --legacy --gic 2
                 EXPECT "smp: 4 CPUs online" "vdc: virtio-blk")
