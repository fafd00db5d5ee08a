# run=example (src/jobs/example_reader.c, the README's example) on a disk of
# known bytes ("levblk\n" repeated): the checksum it prints is the FNV-1a 64 of
# the first 8 logical blocks, computed on the host for these contents.
set(LEVBLK_EX_IMG ${CMAKE_BINARY_DIR}/qemu-tests/example.images)
file(MAKE_DIRECTORY ${LEVBLK_EX_IMG})
add_test(NAME qemu.example.image COMMAND sh -c
  "yes levblk | head -c 1048576 > ${LEVBLK_EX_IMG}/ex.img && cp ${LEVBLK_EX_IMG}/ex.img ${LEVBLK_EX_IMG}/ex4k.img")
set_tests_properties(qemu.example.image PROPERTIES FIXTURES_SETUP example_images LABELS qemu)
levblk_qemu_test(NAME example.read_checksum TIMEOUT 60 ARGS --disk ${LEVBLK_EX_IMG}/ex.img
  APPEND "run=example dev=vda blocks=8"
  EXPECT_REGEX "EXAMPLE dev=vda blocks=8 bytes=4096 fnv1a=0xcccecfd98afe7d75" "RESULT PASS")
levblk_qemu_test(NAME example.read_checksum_4k TIMEOUT 60 ARGS --disk ${LEVBLK_EX_IMG}/ex4k.img,lbs=4096
  APPEND "run=example dev=vda blocks=8 kmem.debug=3"
  EXPECT_REGEX "EXAMPLE dev=vda blocks=8 bytes=32768 fnv1a=0x045e544493e07d75" "RESULT PASS")
levblk_qemu_test(NAME example.past_the_end TIMEOUT 60 ARGS --disk ${LEVBLK_EX_IMG}/ex.img
  APPEND "run=example dev=vda blocks=4096" EXPECT_EXIT 1
  EXPECT_REGEX "example: want dev=" "RESULT FAIL bad argument")
set_tests_properties(qemu.example.read_checksum qemu.example.read_checksum_4k qemu.example.past_the_end
  PROPERTIES FIXTURES_REQUIRED example_images)
