# Interrupts, timers and threads with a second CPU present (parked in PSCI):
# GICv2 SPIs then need ITARGETSR, GICv3 SPIs GICD_IROUTER.
levblk_qemu_test(NAME selftest.gic2_smp2 TIMEOUT 120 ARGS --gic 2 --smp 2 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.gic3_smp2 TIMEOUT 120 ARGS --gic 3 --smp 2 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.gic2_el2 TIMEOUT 120 ARGS --gic 2 --el2 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
