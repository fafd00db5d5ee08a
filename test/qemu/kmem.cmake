# The kernel heap and the sleeping locks in the guest (their selftests), also
# with the heap's debug checks on from the command line.
levblk_qemu_test(NAME kmem.selftest TIMEOUT 180 APPEND "run=selftest only=kmem."
  EXPECT_REGEX "^ok [0-9]+ - kmem.stress_threads_and_irq" "^ok [0-9]+ - kmem.faults_caught"
               "# kmem stress: 8 threads" "RESULT PASS")
