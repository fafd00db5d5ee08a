# What the virtio-blk driver does with a disk's geometry at probe, in QEMU: a
# logical block size or a capacity the layer cannot serve is refused in one
# line naming the disk and the reason (and the disks after it keep their
# names); every block size it serves works with fill and check; fill and
# bench work at the end of disks far beyond 2 TiB; disks past the layer's
# limit get a line. Disks are QEMU null-co drives (no image files), except
# where the pattern must be read back.

# null-co drive i of `bytes` bytes as virtio-blk device, with extra device options.
function(probe_null_disk out i bytes devopts)
  set(${out} ${${out}}
    --qemu -drive --qemu if=none,id=n${i},driver=null-co,size=${bytes}
    --qemu -device --qemu virtio-blk-device,drive=n${i}${devopts} PARENT_SCOPE)
endfunction()

# QEMU's logical_block_size=131072 was shown as 512-byte blocks; every I/O then failed.
set(disks)
probe_null_disk(disks 0 16777216 ",logical_block_size=131072,physical_block_size=131072")
probe_null_disk(disks 1 1048576 "")
levblk_qemu_test(NAME probe.refuse_lbs_128k TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill dev=vdb count=64"
  EXPECT_REGEX "virtio-blk: vda refused: logical block size not served .* 131072-byte blocks"
  "FILL dev=vdb sectors=64 bios=[1-9][0-9]* requests=[1-9][0-9]* errors=0" "RESULT PASS"
  FAIL_REGEX "^vda: virtio-blk")

# 16 MiB and 512 bytes on 4 KiB blocks: a plain fill blamed start, count and maxbio.
set(disks)
probe_null_disk(disks 0 16777728 ",logical_block_size=4096,physical_block_size=4096")
levblk_qemu_test(NAME probe.refuse_capacity_not_whole_blocks TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill" EXPECT_EXIT 1
  EXPECT_REGEX "virtio-blk: vda refused: capacity not a whole number of logical blocks .capacity 32769 sectors, 4096-byte blocks."
  "RESULT FAIL no such device"
  FAIL_REGEX "start, count and maxbio" "^vda: virtio-blk")

# Far past 2 TiB (4 EiB, and 2 TiB of 4 KiB blocks): fill really writes its
# last sectors, and bench's random blocks cover the disk without a wrap.
set(disks)
probe_null_disk(disks 0 4611686018427387904 "")
probe_null_disk(disks 1 2199023255552 ",logical_block_size=4096,physical_block_size=4096")
levblk_qemu_test(NAME probe.fill_end_of_huge_disks TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill dev=vda start=9007199254738944 count=2048"
  EXPECT_REGEX "vda: virtio-blk, 9007199254740992 sectors"
  "FILL dev=vda sectors=2048 bios=[1-9][0-9]* requests=[1-9][0-9]* errors=0" "RESULT PASS")
levblk_qemu_test(NAME probe.fill_end_of_2tib_4k TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill dev=vdb start=4294965248 count=2048"
  EXPECT_REGEX "vdb: virtio-blk, 4294967296 sectors .2097152 MiB., 4096-byte blocks"
  "FILL dev=vdb sectors=2048 bios=[1-9][0-9]* requests=[1-9][0-9]* errors=0" "RESULT PASS")
levblk_qemu_test(NAME probe.bench_huge_disks TIMEOUT 60 ARGS ${disks}
  APPEND "run=bench dev=vda,vdb rw=randwrite ios=2000"
  EXPECT_REGEX "BENCH .*\"dev\":\"vda\".*\"ios\":2000,.*\"errors\":0"
  "BENCH .*\"dev\":\"vdb\".*\"ios\":2000,.*\"errors\":0" "RESULT PASS")

# Eighteen disks: the 17th and 18th were dropped without a line.
set(disks)
foreach(i RANGE 17)
  probe_null_disk(disks ${i} 1048576 "")
endforeach()
levblk_qemu_test(NAME probe.disks_past_limit TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill dev=vdp count=64"
  EXPECT_REGEX "virtio-blk: vdq not used: the layer serves at most 16 disks"
  "virtio-blk: vdr not used: the layer serves at most 16 disks"
  "FILL dev=vdp sectors=64 bios=[1-9][0-9]* requests=[1-9][0-9]* errors=0" "RESULT PASS")

# Block sizes the layer serves besides 512 and 4096: the pattern both ways.
set(LEVBLK_PROBE_PATTERN_TEST ${CMAKE_CURRENT_LIST_DIR}/blk_pattern_test)
foreach(lbs 1024 8192 65536)
  add_test(NAME qemu.probe.fill.lbs${lbs} COMMAND ${LEVBLK_PROBE_PATTERN_TEST} --mode guest-fill
    --kernel $<TARGET_FILE:levblk.elf> --workdir ${CMAKE_BINARY_DIR}/qemu-tests/probe.fill.lbs${lbs}
    --disk 8M,lbs=${lbs})
  add_test(NAME qemu.probe.check.lbs${lbs} COMMAND ${LEVBLK_PROBE_PATTERN_TEST} --mode host-write
    --kernel $<TARGET_FILE:levblk.elf> --workdir ${CMAKE_BINARY_DIR}/qemu-tests/probe.check.lbs${lbs}
    --disk 8M,lbs=${lbs} --boot --legacy)
  set_tests_properties(qemu.probe.fill.lbs${lbs} qemu.probe.check.lbs${lbs} PROPERTIES
    TIMEOUT 120 LABELS qemu)
endforeach()

# Settings that failed without saying why.
set(disks)
probe_null_disk(disks 0 1048576 "")
# vq.indirect_segs=2 was accepted, then every disk failed its setup without a reason.
levblk_qemu_test(NAME probe.indirect_segs_2_refused_by_name TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill count=64 vq.indirect_segs=2" EXPECT_EXIT 1
  EXPECT_REGEX "cmdline: bad value in vq.indirect_segs=2 .*3..1024" "RESULT FAIL bad value"
  FAIL_REGEX "^FILL ")
# scratch=18446744073709551615 was taken as "no scratch= given" (nothing written, PASS).
levblk_qemu_test(NAME probe.scratch_max_is_a_sector TIMEOUT 60 ARGS ${disks}
  APPEND "run=demo scratch=18446744073709551615" EXPECT_EXIT 1
  EXPECT_REGEX "demo: scratch=18446744073709551615 is not a logical block on vda"
  "RESULT FAIL bad scratch sector"
  FAIL_REGEX "no scratch=SECTOR given")
# fill names the word that is not whole blocks.
set(disks)
probe_null_disk(disks 0 1048576 ",logical_block_size=4096,physical_block_size=4096")
levblk_qemu_test(NAME probe.fill_count_not_whole_blocks TIMEOUT 60 ARGS ${disks}
  APPEND "run=fill count=7" EXPECT_EXIT 1
  EXPECT_REGEX "fill: bad value in count=7 .not whole 4096-byte blocks of vda." "RESULT FAIL bad argument")
levblk_qemu_test(NAME probe.fill_start_not_whole_blocks TIMEOUT 60 ARGS ${disks}
  APPEND "run=check start=9 count=8" EXPECT_EXIT 1
  EXPECT_REGEX "check: bad value in start=9 .not whole 4096-byte blocks of vda." "RESULT FAIL bad argument")
