# The file system in QEMU: run=fsverify on images that the host's mke2fs made
# from one generated tree (test/qemu/fs_images, tools/fs-image): 1, 2 and 4
# KiB blocks, revision 0, hash-indexed directories, a GPT partition, a 4
# KiB-sector disk (and 1 KiB blocks refused there), and damaged images:
# changed contents, a bad superblock, a bad directory block, a block that
# fails to read. The disks are attached read-only, so the tests can share
# the images.
set(LEVBLK_FS_IMG ${CMAKE_BINARY_DIR}/qemu-tests/fs.images)
add_test(NAME qemu.fs.images.make COMMAND ${CMAKE_CURRENT_LIST_DIR}/fs_images ${LEVBLK_FS_IMG})
set_tests_properties(qemu.fs.images.make PROPERTIES FIXTURES_SETUP fs_images LABELS qemu TIMEOUT 300)

macro(fs_test name)
  levblk_qemu_test(NAME ${name} ${ARGN})
  set_tests_properties(qemu.${name} PROPERTIES FIXTURES_REQUIRED fs_images)
endmacro()

# The whole manifest verifies and the walk finds nothing unlisted.
set(FS_PASS "FSVERIFY dev=vda files=3007 bytes=74364613 dirs=44 mismatches=0 missing=0 extra=0" "RESULT PASS")
fs_test(fs.verify.1k ARGS --disk ${LEVBLK_FS_IMG}/b1k.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "fs: vda: ext2 revision 1, 1024-byte blocks" ${FS_PASS})
fs_test(fs.verify.2k ARGS --disk ${LEVBLK_FS_IMG}/b2k.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "fs: vda: ext2 revision 1, 2048-byte blocks" ${FS_PASS})
fs_test(fs.verify.4k ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "fs: vda: ext2 revision 1, 4096-byte blocks" "prefetches=[1-9][0-9]* ra_hits=[1-9][0-9]* ra_wasted=0"
  ${FS_PASS})
# Readahead off: nothing prefetched, the same result.
fs_test(fs.verify.readahead_off ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro APPEND "run=fsverify fs.readahead_kib=0"
  EXPECT_REGEX "prefetches=0 ra_hits=0 ra_wasted=0" ${FS_PASS})
fs_test(fs.verify.rev0 ARGS --disk ${LEVBLK_FS_IMG}/rev0.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "fs: vda: ext2 revision 0, 1024-byte blocks" ${FS_PASS})
fs_test(fs.verify.gpt_partition ARGS --disk ${LEVBLK_FS_IMG}/gpt.img,ro APPEND "run=fsverify dev=vda2"
  EXPECT_REGEX "fs: vda2: ext2 revision 1, 2048-byte blocks" "FSVERIFY dev=vda2 files=3007 bytes=74364613 dirs=44 mismatches=0 missing=0 extra=0" "RESULT PASS")
fs_test(fs.verify.gpt_whole_disk_refused EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/gpt.img,ro APPEND "run=fsverify dev=vda"
  EXPECT_REGEX "FSERR dev=vda bad superblock magic" "RESULT FAIL")
fs_test(fs.verify.dir_index ARGS --disk ${LEVBLK_FS_IMG}/index.img,ro APPEND "run=fsverify" EXPECT_REGEX ${FS_PASS})
fs_test(fs.verify.4k_on_lbs4096 ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro,lbs=4096 APPEND "run=fsverify"
  EXPECT_REGEX ${FS_PASS})
# A cache of the smallest size: every block read is evicted again many times, contents still right.
fs_test(fs.verify.small_cache ARGS --disk ${LEVBLK_FS_IMG}/b2k.img,ro APPEND "run=fsverify fs.cache_kib=64"
  EXPECT_REGEX "FSCACHE dev=vda blocks=32 block_bytes=2048 .* evictions=[1-9][0-9]*" ${FS_PASS})

# Refusals and damage: a reason, RESULT FAIL, never a panic.
fs_test(fs.verify.1k_on_lbs4096_refused EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/b1k.img,ro,lbs=4096
  APPEND "run=fsverify"
  EXPECT_REGEX "FSERR dev=vda block size 1024 is below the disk's logical block size 4096" "RESULT FAIL")
fs_test(fs.verify.differs EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/differs.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "FSMISMATCH path=hello.txt want=e4a985feba6c291b0de2319ce53b41e44d6a1413c535c586a649e896ac623743 got=[0-9a-f]{64}"
  "FSMISSING path=dense err=-2" "FSMISSING path=many/dense-hardlink err=-2" "FSEXTRA path=added.txt"
  "FSVERIFY dev=vda files=3007 bytes=[0-9]+ dirs=44 mismatches=1 missing=2 extra=1" "RESULT FAIL")
fs_test(fs.verify.bad_superblock EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/badsuper.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "FSERR dev=vda bad superblock magic" "RESULT FAIL")
fs_test(fs.verify.bad_directory EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/baddir.img,ro APPEND "run=fsverify"
  EXPECT_REGEX "FSERR dev=vda inode [0-9]+: bad directory record length" "FSMISSING path=many/file-00000 err=-117"
  "FSVERIFY dev=vda files=3007 bytes=[0-9]+ dirs=[0-9]+ mismatches=0 missing=3001 extra=0" "RESULT FAIL")
# One file's block fails to read: that file (both its names) is missing with -EIO, the rest verifies.
fs_test(fs.verify.read_error EXPECT_EXIT 1
  ARGS --disk ${LEVBLK_FS_IMG}/b1k.img,ro,blkdebug=${LEVBLK_FS_IMG}/dense_eio.conf APPEND "run=fsverify"
  EXPECT_REGEX "FSMISSING path=dense err=-5" "FSMISSING path=many/dense-hardlink err=-5"
  "FSVERIFY dev=vda files=3007 bytes=[0-9]+ dirs=44 mismatches=0 missing=2 extra=0" "RESULT FAIL")

# The buffer cache's rules in the guest (src/fs/bcache_selftest.c), on 512-byte and 4 KiB-sector disks.
fs_test(fs.bcache.selftest ARGS --disk ${LEVBLK_FS_IMG}/b1k.img,ro APPEND "run=selftest only=fs.bcache."
  FAIL_REGEX "# skip" EXPECT_REGEX "# 5 passed, 0 failed" "RESULT PASS")
fs_test(fs.bcache.selftest_lbs4096 ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro,lbs=4096
  APPEND "run=selftest only=fs.bcache." FAIL_REGEX "# skip" EXPECT_REGEX "# 5 passed, 0 failed" "RESULT PASS")

# run=fsbench: a sequential read of one file with and without readahead, and a read of the whole tree.
fs_test(fs.bench.seqread ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro APPEND "run=fsbench work=seqread path=/dense bs=4096"
  EXPECT_REGEX "FSBENCH \\{\"dev\":\"vda\",\"work\":\"seqread\",\"bytes\":307277,\"files\":1,.*\"readahead_kib\":1024,\"prefetches\":[1-9][0-9]*,\"ra_hits\":[1-9][0-9]*," "RESULT PASS")
fs_test(fs.bench.seqread_no_readahead ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro
  APPEND "run=fsbench work=seqread path=/dense bs=4096 fs.readahead_kib=0"
  EXPECT_REGEX "FSBENCH \\{\"dev\":\"vda\",\"work\":\"seqread\",\"bytes\":307277,.*\"readahead_kib\":0,\"prefetches\":0," "RESULT PASS")
fs_test(fs.bench.tree ARGS --disk ${LEVBLK_FS_IMG}/b1k.img,ro APPEND "run=fsbench work=tree path=/ bs=65536 secs=60"
  EXPECT_REGEX "FSBENCH \\{\"dev\":\"vda\",\"work\":\"tree\",\"bytes\":[0-9]+,\"files\":3008," "RESULT PASS")
fs_test(fs.bench.seqwrite_refused EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro APPEND "run=fsbench work=seqwrite"
  EXPECT_REGEX "fsbench: work=seqwrite needs a read-write mount" "RESULT FAIL")

# Write-back in the guest (src/fs/bcache_wb_selftest.c) on a scratch disk, and a write error that
# keeps its block dirty and is returned by every sync (blkdebug fails the writes of that block).
fs_test(fs.bcache_wb.selftest ARGS --disk ${LEVBLK_FS_IMG}/wb.img APPEND "run=selftest only=fs.bcache_wb."
  FAIL_REGEX "# skip: no writable" EXPECT_REGEX "# skip: block 3000 was written" "# 5 passed, 0 failed" "RESULT PASS")
fs_test(fs.bcache_wb.write_error ARGS --disk ${LEVBLK_FS_IMG}/wberr.img,blkdebug=${LEVBLK_FS_IMG}/wb_eio.conf
  APPEND "run=selftest only=fs.bcache_wb.write_error" FAIL_REGEX "# skip" EXPECT_REGEX "# 1 passed, 0 failed" "RESULT PASS")
# Paths are resolved as open(2) does: through a symlink to its file; a dangling one is -ENOENT.
fs_test(fs.bench.through_symlink ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro APPEND "run=fsbench work=seqread path=/fast-link"
  EXPECT_REGEX "FSBENCH \\{\"dev\":\"vda\",\"work\":\"seqread\",\"bytes\":20,\"files\":1," "RESULT PASS")
fs_test(fs.bench.dangling_symlink EXPECT_EXIT 1 ARGS --disk ${LEVBLK_FS_IMG}/b4k.img,ro
  APPEND "run=fsbench work=seqread path=/slow-link" EXPECT_REGEX "fsbench: cannot open /slow-link .-2." "RESULT FAIL")

# The write side, each test on its own fresh image, checked from the host with e2fsprogs
# (test/qemu/fs_write_test, tools/fs-check): run=fswrite (2000 operations) with 1, 2 and 4 KiB
# blocks on a whole disk and on a GPT partition, the image equal to the listing and e2fsck
# clean; run=fsdurable with QEMU killed at a random moment (a delay from the seed), then every
# FSSYNCED file intact after e2fsck -fy; a failed metadata write during fswrite (read-only,
# RESULT FAIL, e2fsck repairs the image and the files that were there are intact); the write
# workloads of run=fsbench.
set(LEVBLK_FS_WRITE_TEST ${CMAKE_CURRENT_LIST_DIR}/fs_write_test)
function(fs_write_test name)
  add_test(NAME qemu.${name} COMMAND ${LEVBLK_FS_WRITE_TEST} --kernel $<TARGET_FILE:levblk.elf>
           --workdir ${CMAKE_BINARY_DIR}/qemu-tests/${name} ${ARGN})
  set_tests_properties(qemu.${name} PROPERTIES TIMEOUT 400 LABELS qemu)
endfunction()
fs_write_test(fs.write.1k --case fswrite --block-size 1024 --seed 1)
fs_write_test(fs.write.2k --case fswrite --block-size 2048 --seed 2)
fs_write_test(fs.write.4k --case fswrite --block-size 4096 --seed 3)
fs_write_test(fs.write.1k_gpt_partition --case fswrite --block-size 1024 --gpt --seed 4)
fs_write_test(fs.write.2k_gpt_partition --case fswrite --block-size 2048 --gpt --seed 5)
fs_write_test(fs.write.4k_gpt_partition --case fswrite --block-size 4096 --gpt --seed 6)
fs_write_test(fs.durable.killed_1k --case fsdurable --block-size 1024 --seed 11)
fs_write_test(fs.durable.killed_4k_gpt_partition --case fsdurable --block-size 4096 --gpt --seed 12)
fs_write_test(fs.write.metadata_error --case metaerr --block-size 1024 --seed 1)
fs_write_test(fs.write.metadata_error_4k_gpt_partition --case metaerr --block-size 4096 --gpt --seed 2)
fs_write_test(fs.bench.write_workloads --case fsbench --block-size 4096)
# A disk of 4 KiB logical blocks: every write-back is whole disk blocks.
fs_write_test(fs.write.4k_on_lbs4096 --case fswrite --block-size 4096 --seed 8 --disk-opts ,lbs=4096)
fs_write_test(fs.durable.killed_4k_on_lbs4096 --case fsdurable --block-size 4096 --seed 14 --disk-opts ,lbs=4096)
# The smallest cache (64 KiB): dirty blocks are written back under pressure, in the middle of
# operations, and fsync still keeps its promise.
fs_write_test(fs.write.small_cache --case fswrite --block-size 1024 --seed 7 --boot-arg fs.cache_kib=64)
fs_write_test(fs.durable.killed_small_cache --case fsdurable --block-size 1024 --seed 13
              --boot-arg fs.cache_kib=64)
# Not killed: every file synced, FSDURABLE and RESULT PASS, and the same check.
fs_write_test(fs.durable.complete --case fsdurable --block-size 2048 --seed 5 --files 12 --kill-max 600)
