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

# The write API on empty file systems (src/fs/fs_api_selftest.c), 1 and 4 KiB blocks; afterwards the
# host's e2fsck finds each image clean (the selftests unmount cleanly).
foreach(bs 1k 4k)
  fs_api_test(fs.api.selftest_${bs} TIMEOUT 300 ARGS --disk ${LEVBLK_FS_API_IMG}/api_${bs}.img
    APPEND "run=selftest only=fs.api."
    FAIL_REGEX "# skip: no writable" EXPECT_REGEX "# 4 passed, 0 failed" "RESULT PASS")
  set_tests_properties(qemu.fs.api.selftest_${bs} PROPERTIES FIXTURES_SETUP fs_api_written_${bs})
  # Clean, and the selftests' files are there (the file fs.api.create_write_read left, 12000 bytes).
  add_test(NAME qemu.fs.api.fsck_${bs} COMMAND sh -c
    "PATH=$PATH:/sbin:/usr/sbin; e2fsck -fn ${LEVBLK_FS_API_IMG}/api_${bs}.img && debugfs -R 'stat /cwr/file' ${LEVBLK_FS_API_IMG}/api_${bs}.img 2>/dev/null | grep -q 'Size: 12000'")
  set_tests_properties(qemu.fs.api.fsck_${bs} PROPERTIES FIXTURES_REQUIRED "fs_api_images;fs_api_written_${bs}" LABELS qemu)
endforeach()
# A metadata write fails during a sync: FSERR, read-only, nothing more written.
fs_api_test(fs.api.ro_after_meta_failure ARGS --disk ${LEVBLK_FS_API_IMG}/ro_fail.img,blkdebug=${LEVBLK_FS_API_IMG}/ro_fail.conf
  APPEND "run=selftest only=fs.api.ro_after_meta_failure" FAIL_REGEX "# skip"
  EXPECT_REGEX "FSERR dev=vda metadata write of block [0-9]+ failed .-5.: remounted read-only" "# 1 passed, 0 failed" "RESULT PASS")
