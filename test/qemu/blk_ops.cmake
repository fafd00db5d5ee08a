# Discard, write-zeroes and GET_ID through the split ring on virtio-mmio,
# legacy and modern, GICv3 and GICv2, 512-byte and 4 KiB blocks: the guest's
# run=ops and the host's look at the image (test/qemu/blk_ops_test).
set(LEVBLK_BLK_OPS_TEST ${CMAKE_CURRENT_LIST_DIR}/blk_ops_test)
function(blk_ops_test name)
  add_test(NAME qemu.${name} COMMAND ${LEVBLK_BLK_OPS_TEST} --kernel $<TARGET_FILE:levblk.elf>
           --workdir ${CMAKE_BINARY_DIR}/qemu-tests/${name} ${ARGN})
  set_tests_properties(qemu.${name} PROPERTIES TIMEOUT 120 LABELS qemu)
endfunction()
blk_ops_test(blk.ops.modern_gic3)
blk_ops_test(blk.ops.legacy_gic2 --serial legacy-serial-7 --legacy --gic 2)
blk_ops_test(blk.ops.modern_lbs4096_noindirect --serial ABCDEFGHIJKLMNOPQRST
             --disk-opts ,lbs=4096,noindirect)
blk_ops_test(blk.ops.legacy_keep_discarded --legacy --no-unmap)
