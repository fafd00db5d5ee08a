# Partitions (GPT and MBR tables made by sfdisk): fill one partition, the host
# checks the pattern from the partition's first sector and that nothing else
# on the image changed; check it in the guest; the part.bounds selftest (a bio
# crossing the end gets -EINVAL and writes nothing); the demo's partition lines.
foreach(label gpt dos)
  add_test(NAME qemu.part.${label}
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/part_test --label ${label} --kernel $<TARGET_FILE:levblk.elf>
            --workdir ${CMAKE_BINARY_DIR}/qemu-tests/part.${label})
  set_tests_properties(qemu.part.${label} PROPERTIES TIMEOUT 180 LABELS qemu)
endforeach()
