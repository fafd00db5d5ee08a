# Partitions (GPT and MBR tables made by sfdisk): fill one partition, the host
# checks the pattern from the partition's first sector and that nothing else
# on the image changed; check it in the guest; the part.bounds selftest (a bio
# crossing the end gets -EINVAL and writes nothing); the demo's partition lines;
# random writes of both bench engines stay inside the partition. Also 128 partitions, a 4 KiB-block
# GPT, a damaged primary GPT saved by the backup, and both copies damaged (the disk
# is used whole).
foreach(label gpt dos gpt128 gpt4k gpt-backup gpt-damaged)
  add_test(NAME qemu.part.${label}
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/part_test --label ${label} --kernel $<TARGET_FILE:levblk.elf>
            --workdir ${CMAKE_BINARY_DIR}/qemu-tests/part.${label})
  set_tests_properties(qemu.part.${label} PROPERTIES TIMEOUT 180 LABELS qemu)
endforeach()

# The demo image tools/run makes (tools/lib/demo-image) and the scratch write
# tools/run asks for on it: the block lands on vda1 at its sector 2048 (zeroed
# here first, so only that write can bring its pattern back), and the table
# and vda2 stay as they were.
add_test(NAME qemu.part.demo_image
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/part_demo_test --kernel $<TARGET_FILE:levblk.elf>
          --workdir ${CMAKE_BINARY_DIR}/qemu-tests/part.demo_image)
set_tests_properties(qemu.part.demo_image PROPERTIES TIMEOUT 180 LABELS qemu)
