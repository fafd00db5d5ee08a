# Memory: the MMU map and page pool on the CPUs and RAM sizes docs/interface.md
# lists that boot.cmake does not already cover, and with a second CPU present.
levblk_qemu_test(NAME mem.selftest_a57_1g TIMEOUT 120 ARGS --mem 1G --cpu cortex-a57
                 APPEND "run=selftest only=mem." EXPECT_REGEX "^ok [0-9]+ - mem.page_exhaust" "RESULT PASS")
levblk_qemu_test(NAME mem.selftest_a72_2g_gic2 TIMEOUT 120 ARGS --mem 2G --gic 2
                 APPEND "run=selftest only=mem." EXPECT_REGEX "^ok [0-9]+ - mem.map_attributes" "RESULT PASS")
levblk_qemu_test(NAME mem.selftest_a53_el2_4g TIMEOUT 120 ARGS --mem 4G --cpu cortex-a53 --el2
                 APPEND "run=selftest only=mem." EXPECT_REGEX "MMU and caches on" "RESULT PASS")
levblk_qemu_test(NAME mem.selftest_smp2 TIMEOUT 120 ARGS --smp 2 APPEND "run=selftest"
                 EXPECT_REGEX "MMU and caches on" "RESULT PASS")

# Panics (run=crashtest): status 3, the registers, and a backtrace that
# stops cleanly. 512 MiB of RAM ends at 0x60000000, the address kind=abort loads.
set(crash_common EXPECT_EXIT 3 FAIL_REGEX "nested panic" "did not fault")
levblk_qemu_test(NAME mem.crash_abort TIMEOUT 60 APPEND "run=crashtest kind=abort" ${crash_common}
  EXPECT_REGEX "PANIC: unexpected sync exception: EC 0x25 \\(data abort\\)"
               "ESR 0x0*96000006" "FAR 0x0*60000000" "ELR 0x0*401"
               "#1 +0x0*401" "RESULT FAIL panic")
levblk_qemu_test(NAME mem.crash_undef TIMEOUT 60 APPEND "run=crashtest kind=undef" ${crash_common}
  EXPECT_REGEX "PANIC: .*EC 0x00" "ESR 0x0*02000000" "FAR 0x" "ELR 0x0*401" "#0 +0x0*401"
               "#1 +0x0*401" "RESULT FAIL panic")
levblk_qemu_test(NAME mem.crash_panic TIMEOUT 60 APPEND "run=crashtest kind=panic" ${crash_common}
  EXPECT_REGEX "PANIC: crashtest: deliberate panic" "backtrace" "#1 +0x0*401" "RESULT FAIL panic")
levblk_qemu_test(NAME mem.crash_badfp TIMEOUT 60 APPEND "run=crashtest kind=badfp" ${crash_common}
  EXPECT_REGEX "PANIC: .*EC 0x00" "backtrace stopped: frame pointer outside the stack \\(0x1000\\)"
               "RESULT FAIL panic")
# The map's permissions, seen from a fault: data is execute-never, text is read-only.
levblk_qemu_test(NAME mem.crash_exec_data TIMEOUT 60 APPEND "run=crashtest kind=exec" ${crash_common}
  EXPECT_REGEX "EC 0x21 \\(instruction abort\\)" "ESR 0x0*8600000[def]" "RESULT FAIL panic")
levblk_qemu_test(NAME mem.crash_write_text TIMEOUT 60 ARGS --el2 --cpu cortex-a53
  APPEND "run=crashtest kind=wtext" ${crash_common}
  EXPECT_REGEX "EC 0x25 \\(data abort\\)" "ESR 0x0*9600004[def]" "RESULT FAIL panic")
