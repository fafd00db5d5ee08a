# virtio-mmio transport on QEMU: two block devices with a virtio-rng device
# between them (so the rng sits in slot 30, the disks in 31 and 29), listed at
# boot in -device order with their slot address and INTID, on legacy and
# modern transports and both GICs; run=selftest drives the rng device through
# the real device model (init, queue, direct and indirect chains, polled
# and interrupt-driven, reset).
# Disks are QEMU null-co drives of odd sizes: no image files needed.
set(VIRTIO_QEMU_DEVICES
  --qemu -drive --qemu if=none,id=v0,driver=null-co,size=1049088
  --qemu -device --qemu virtio-blk-device,drive=v0
  --qemu -device --qemu virtio-rng-device
  --qemu -drive --qemu if=none,id=v1,driver=null-co,size=4096,read-only=on
  --qemu -device --qemu virtio-blk-device,drive=v1)

foreach(variant "modern;3;2" "legacy;2;1" "modern;2;2" "legacy;3;1")
  list(GET variant 0 transport)
  list(GET variant 1 gic)
  list(GET variant 2 ver)
  set(extra)
  if(transport STREQUAL "legacy")
    set(extra --legacy)
  endif()
  levblk_qemu_test(NAME virtio.listing_${transport}_gic${gic} TIMEOUT 60
    ARGS --gic ${gic} ${extra} ${VIRTIO_QEMU_DEVICES}
    APPEND "run=selftest only=virtio"
    EXPECT_REGEX
      "virtio-mmio 0: virtio-blk .device id 2. version ${ver} vendor 0x554d4551 at 0xa003e00 irq 79"
      "virtio-mmio 1: virtio-rng .device id 4. version ${ver} vendor 0x554d4551 at 0xa003c00 irq 78"
      "virtio-mmio 2: virtio-blk .device id 2. version ${ver} vendor 0x554d4551 at 0xa003a00 irq 77"
      "virtio-mmio: 3 device.s. in 32 slots"
      "virtio-rng version ${ver} .*8 requests .4 indirect."
      "interrupts: [1-9][0-9]* taken, [1-9][0-9]* used-buffer, 0 config"
      "^ok 1 - virtio.rng_polled_and_irq"
      "RESULT PASS"
    FAIL_REGEX "virtio-mmio 3:" "FAILED")
endforeach()

# The packed ring on the rng device too (packed=on, negotiated by the
# transport for any device): the selftest's direct and indirect chains,
# polled and by interrupt, and its reset, through QEMU's packed ring.
levblk_qemu_test(NAME virtio.rng_packed TIMEOUT 60
  ARGS --qemu -drive --qemu if=none,id=v0,driver=null-co,size=1049088
       --qemu -device --qemu virtio-blk-device,drive=v0,packed=on
       --qemu -device --qemu virtio-rng-device,packed=on
  APPEND "run=selftest only=virtio"
  EXPECT_REGEX "vda: virtio-blk.*packed ring"
    "virtio-rng version 2 features 0x5[0-9a-f]{8}: 8 requests .4 indirect."
    "^ok 1 - virtio.rng_polled_and_irq" "RESULT PASS"
  FAIL_REGEX "FAILED")

# No virtio devices at all: nothing listed, boot goes on.
levblk_qemu_test(NAME virtio.no_devices TIMEOUT 60 APPEND "run=selftest only=virtio"
  EXPECT_REGEX "virtio-mmio: 0 device.s. in 32 slots" "no virtio-rng device" "RESULT PASS"
  FAIL_REGEX "virtio-mmio 0:")

# The split ring's store-load fences are in the binary (include/levblk/hal/
# barrier.h, vq_mb): a dmb followed by a counter read that QEMU performs under
# its global mutex, since QEMU < 8.1 drops the dmb when the machine has one
# vCPU. Losing it would show only as a rare request stuck until its deadline.
add_test(NAME qemu.virtio.store_load_fences_in_elf
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_fences $<TARGET_FILE:levblk.elf>)
set_tests_properties(qemu.virtio.store_load_fences_in_elf PROPERTIES TIMEOUT 60 LABELS qemu)
# The packed ring's and interrupt coalescing's store-load fences likewise.
add_test(NAME qemu.virtio.packed_store_load_fences_in_elf
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/check_fences $<TARGET_FILE:levblk.elf>
         vqp_kick_prepare vqp_get_used vqp_arm vq_enable_cb_delayed)
set_tests_properties(qemu.virtio.packed_store_load_fences_in_elf PROPERTIES TIMEOUT 60 LABELS qemu)
