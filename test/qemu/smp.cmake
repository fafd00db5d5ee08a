# Spinlocks and CPUs. The lock checks on a CPU without the LSE atomics (the
# default cortex-a72: LDAXR/STLXR) run in every run=selftest; on -cpu max the
# ticket locks take LDADDA instead.
levblk_qemu_test(NAME selftest.spin_lse TIMEOUT 120 ARGS --cpu max APPEND "run=selftest only=spin."
                 EXPECT_REGEX "ticket locks use LSE" "RESULT PASS")
