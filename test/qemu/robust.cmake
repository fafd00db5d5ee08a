# Robustness in QEMU: device errors injected by blkdebug, stuck and
# lost completions (fault injection in the driver, through the real deadline,
# reset and resubmission code; only in the test kernel levblk-test.elf), and a soak whose counters must come back to
# rest. Each case is one run of test/qemu/robust_fault_test, which boots the
# kernel, checks the console and verifies the image on the host.
set(LEVBLK_ROBUST_FAULT_TEST ${CMAKE_CURRENT_LIST_DIR}/robust_fault_test)

# robust_test(NAME n CASE c [TIMEOUT s] [FAULT_INJECT] [OPTS script options...])
# FAULT_INJECT: the case uses blk.fault_* and boots the test kernel
# levblk-test.elf (cmake/kernel.cmake); the others boot the production kernel.
function(robust_test)
  cmake_parse_arguments(R "FAULT_INJECT" "NAME;CASE;TIMEOUT" "OPTS" ${ARGN})
  set(R_KERNEL levblk.elf)
  if(R_FAULT_INJECT)
    if(NOT LEVBLK_FAULT_INJECT)
      return()
    endif()
    set(R_KERNEL levblk-test.elf)
  endif()
  if(NOT R_TIMEOUT)
    set(R_TIMEOUT 120)
  endif()
  add_test(NAME qemu.${R_NAME} COMMAND ${LEVBLK_ROBUST_FAULT_TEST} --case ${R_CASE}
    --kernel $<TARGET_FILE:${R_KERNEL}> --workdir ${CMAKE_BINARY_DIR}/qemu-tests/${R_NAME}
    --top ${CMAKE_SOURCE_DIR} ${R_OPTS})
  set_tests_properties(qemu.${R_NAME} PROPERTIES TIMEOUT ${R_TIMEOUT} LABELS qemu
    PASS_REGULAR_EXPRESSION "CASE ${R_CASE}: ok")
endfunction()

robust_test(NAME robust.blkdebug.write_persistent CASE write-persistent)
robust_test(NAME robust.blkdebug.read_persistent CASE read-persistent)
robust_test(NAME robust.blkdebug.transient CASE transient)
robust_test(NAME robust.blkdebug.flush_fails CASE flush)
robust_test(NAME robust.blkdebug.flush_transient CASE flush-transient)
robust_test(NAME robust.timeout.stall_reset CASE stall FAULT_INJECT)
robust_test(NAME robust.timeout.stall_reset_legacy_noindirect CASE stall FAULT_INJECT
  OPTS --disk-opt noindirect --disk-opt noeventidx --boot=--legacy --boot=--gic --boot=2)
robust_test(NAME robust.timeout.lost_irq CASE lost-irq FAULT_INJECT)
robust_test(NAME robust.timeout.lost_irq_noeventidx CASE lost-irq FAULT_INJECT
  OPTS --disk-opt noeventidx)
robust_test(NAME robust.timeout.gives_up CASE stall-sticky FAULT_INJECT)
# The same recovery on the packed ring: a reset, fresh rings with both wrap
# counters back at 1, and the held requests resubmitted.
robust_test(NAME robust.timeout.stall_reset_packed CASE stall FAULT_INJECT OPTS --disk-opt packed)
robust_test(NAME robust.timeout.lost_irq_packed CASE lost-irq FAULT_INJECT OPTS --disk-opt packed)
robust_test(NAME robust.blkdebug.transient_packed CASE transient OPTS --disk-opt packed)

# The production kernel carries no fault injection: not even the settings' names.
add_test(NAME qemu.robust.no_fault_inject_in_production
  COMMAND sh -c "! grep -q 'blk[.]fault_\\|fault_corrupt_used' '$<TARGET_FILE:levblk.elf>'")
set_tests_properties(qemu.robust.no_fault_inject_in_production PROPERTIES LABELS qemu TIMEOUT 30)
# Soak: the full 1 GiB run is a documented command (README, "Robustness").
robust_test(NAME robust.soak.128M CASE soak TIMEOUT 600 OPTS --size 128)
robust_test(NAME robust.soak.64M_legacy_noindirect CASE soak TIMEOUT 600
  OPTS --size 64 --disk-opt noindirect --boot=--legacy)
robust_test(NAME robust.blkdebug.write_persistent_vdb_unaffected CASE write-persistent
  OPTS --with-vdb)

# Recovery with four queues on four vCPUs: device errors isolated per bio,
# a stalled device reset (every queue) and its requests sent again, a lost
# interrupt found in the used rings.
robust_test(NAME robust.mq.transient_queues4 CASE transient
  OPTS --disk-opt queues=4 --boot=--smp --boot=4 --append blk.queues=4)
robust_test(NAME robust.mq.stall_reset_queues4 CASE stall FAULT_INJECT
  OPTS --disk-opt queues=4 --boot=--smp --boot=4 --append blk.queues=4)
robust_test(NAME robust.mq.stall_reset_queues2_legacy CASE stall FAULT_INJECT
  OPTS --disk-opt queues=2 --boot=--smp --boot=4 --boot=--legacy --append blk.queues=4)
robust_test(NAME robust.mq.lost_irq_queues4 CASE lost-irq FAULT_INJECT
  OPTS --disk-opt queues=4 --boot=--smp --boot=4 --append blk.queues=4)
# A hostile used ring (an id out of range) on four vCPUs: split ring with four
# queues on GICv3, packed ring on GICv2, and over PCI with MSI-X.
robust_test(NAME robust.mq.hostile_used_queues4 CASE hostile-used FAULT_INJECT
  OPTS --disk-opt queues=4 --boot=--smp --boot=4 --append blk.queues=4)
robust_test(NAME robust.mq.hostile_used_packed_gic2 CASE hostile-used FAULT_INJECT
  OPTS --disk-opt queues=2 --disk-opt packed --boot=--smp --boot=4 --boot=--gic --boot=2)
robust_test(NAME pci.robust.hostile_used_smp4 CASE hostile-used FAULT_INJECT
  OPTS --disk-opt pci --disk-opt queues=4 --boot=--smp --boot=4)
