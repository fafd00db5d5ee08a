# Discard, write-zeroes and GET_ID through the split and the packed ring, on
# virtio-mmio (legacy and modern) and virtio-pci (MSI-X and INTx), GICv3 and
# GICv2, 512-byte and 4 KiB blocks: the guest's
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
blk_ops_test(blk.ops.packed_gic3 --serial packed-serial --disk-opts ,packed --expect "vda: .*packed ring")
blk_ops_test(blk.ops.packed_lbs4096_gic2 --serial packed-4k --gic 2 --disk-opts ,packed,lbs=4096
             --expect "vda: .*4096-byte blocks.*packed ring")
blk_ops_test(blk.ops.pci_msix_gic3 --serial pci-its --disk-opts ,pci --expect "msi its" --expect "virtio-pci.*MSI-X")
blk_ops_test(blk.ops.pci_packed_gic2 --serial pci-v2m-packed --gic 2 --disk-opts ,pci,packed
             --expect "msi gicv2m" --expect "virtio-pci.*MSI-X" --expect "vda: .*packed ring")
blk_ops_test(blk.ops.pci_intx_gic3 --serial pci-intx --disk-opts ,pci --arg vpci.msix=0
             --expect "virtio-pci.*INTx")
blk_ops_test(blk.ops.pci_transitional_root --serial pci-root --disk-opts ,pci=root --expect "virtio-pci")
