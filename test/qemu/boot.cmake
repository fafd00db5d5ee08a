# Boot, command line and exit status.
levblk_qemu_test(NAME boot.demo TIMEOUT 60 APPEND "run=demo" EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME boot.unknown_key TIMEOUT 60 APPEND "run=demo frobnicate=1"
                 EXPECT_EXIT 1 EXPECT_REGEX "unknown key in frobnicate=1")
levblk_qemu_test(NAME boot.unknown_job TIMEOUT 60 APPEND "run=nosuchjob"
                 EXPECT_EXIT 1 EXPECT_REGEX "unknown job")
levblk_qemu_test(NAME boot.no_semihosting TIMEOUT 60 ARGS --no-semihosting APPEND "run=demo"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.gic3 TIMEOUT 120 ARGS --gic 3 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.gic2 TIMEOUT 120 ARGS --gic 2 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.el2 TIMEOUT 120 ARGS --el2 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.mem128m_a53 TIMEOUT 120 ARGS --mem 128M --cpu cortex-a53 APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
levblk_qemu_test(NAME selftest.mem4g_max TIMEOUT 120 ARGS --mem 4G --cpu max APPEND "run=selftest"
                 EXPECT_REGEX "RESULT PASS")
