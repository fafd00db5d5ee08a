# Memory: the MMU map and page pool on the CPUs and RAM sizes CONTRACT.md
# lists that boot.cmake does not already cover, and with a second CPU present.
levblk_qemu_test(NAME mem.selftest_a57_1g TIMEOUT 120 ARGS --mem 1G --cpu cortex-a57
                 APPEND "run=selftest only=mem." EXPECT_REGEX "^ok [0-9]+ - mem.page_exhaust" "RESULT PASS")
levblk_qemu_test(NAME mem.selftest_a72_2g_gic2 TIMEOUT 120 ARGS --mem 2G --gic 2
                 APPEND "run=selftest only=mem." EXPECT_REGEX "^ok [0-9]+ - mem.map_attributes" "RESULT PASS")
levblk_qemu_test(NAME mem.selftest_a53_el2_4g TIMEOUT 120 ARGS --mem 4G --cpu cortex-a53 --el2
                 APPEND "run=selftest only=mem." EXPECT_REGEX "MMU and caches on" "RESULT PASS")
levblk_qemu_test(NAME mem.selftest_smp2 TIMEOUT 120 ARGS --smp 2 APPEND "run=selftest"
                 EXPECT_REGEX "MMU and caches on" "RESULT PASS")
