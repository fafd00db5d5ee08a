# The kernel heap and the sleeping locks in the guest (their selftests), also
# with the heap's debug checks on from the command line.
levblk_qemu_test(NAME kmem.selftest TIMEOUT 180 APPEND "run=selftest only=kmem."
  EXPECT_REGEX "^ok [0-9]+ - kmem.stress_threads_and_irq" "^ok [0-9]+ - kmem.faults_caught"
               "# kmem stress: 8 threads" "RESULT PASS")
levblk_qemu_test(NAME lock.selftest TIMEOUT 180 APPEND "run=selftest only=lock."
  EXPECT_REGEX "^ok [0-9]+ - lock.mutex_counted" "^ok [0-9]+ - lock.rwlock_readers_share"
               "^ok [0-9]+ - lock.rwlock_writer_excludes" "^ok [0-9]+ - lock.rwlock_writer_not_starved"
               "^ok [0-9]+ - lock.misuse_caught" "RESULT PASS")
levblk_qemu_test(NAME kmem.selftest_debug_smp2 TIMEOUT 180 ARGS --smp 2 APPEND "run=selftest only=kmem. kmem.debug=3"
  EXPECT_REGEX "^ok [0-9]+ - kmem.stress_threads_and_irq" "RESULT PASS")
# Without a test's hook, heap corruption and lock misuse panic with the reason.
levblk_qemu_test(NAME kmem.crash_double_free TIMEOUT 60 APPEND "run=crashtest kind=kfree2"
  EXPECT_EXIT 3 FAIL_REGEX "nested panic" "did not fault"
  EXPECT_REGEX "PANIC: kmem: double free: object 0x[0-9a-f]+, cache kmalloc-64" "RESULT FAIL panic")
levblk_qemu_test(NAME lock.crash_recursive_mutex TIMEOUT 60 APPEND "run=crashtest kind=mutex2"
  EXPECT_EXIT 3 FAIL_REGEX "nested panic" "did not fault"
  EXPECT_REGEX "PANIC: lock: locked again by the thread holding it: mutex crashtest" "RESULT FAIL panic")
