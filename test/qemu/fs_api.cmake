# The mounted file system in QEMU (src/fs/fs_*.c, src/fs/bcache*.c): the
# in-guest selftests fs.api.* on empty ext2 images, the turn to read-only
# after a failed metadata write, and the cache stopping after one. Each test
# gets its own writable disk (test/qemu/fs_api_images).
set(LEVBLK_FS_API_IMG ${CMAKE_BINARY_DIR}/qemu-tests/fs_api.images)
add_test(NAME qemu.fs_api.images.make COMMAND ${CMAKE_CURRENT_LIST_DIR}/fs_api_images ${LEVBLK_FS_API_IMG})
set_tests_properties(qemu.fs_api.images.make PROPERTIES FIXTURES_SETUP fs_api_images LABELS qemu TIMEOUT 120)

macro(fs_api_test name)
  levblk_qemu_test(NAME ${name} ${ARGN})
  set_tests_properties(qemu.${name} PROPERTIES FIXTURES_REQUIRED fs_api_images)
endmacro()

# A metadata block whose write fails stops the cache: nothing more is written or flushed.
fs_api_test(fs.bcache_wb.meta_write_error
  ARGS --disk ${LEVBLK_FS_API_IMG}/meta_wberr.img,blkdebug=${LEVBLK_FS_API_IMG}/meta_eio.conf
  APPEND "run=selftest only=fs.bcache_wb.meta_write_error" FAIL_REGEX "# skip" EXPECT_REGEX "# 1 passed, 0 failed" "RESULT PASS")
