# Block layer in QEMU: the disk pattern both ways (host writes / guest checks,
# guest fills / host verifies) on legacy and modern transports, GICv2 and
# GICv3, indirect descriptors and event index on and off, a 4 KiB-sector
# disk and two disks at once, one data segment per request, blk.bounce=1;
# the demo; the block selftests with disks.
set(LEVBLK_BLK_PATTERN_TEST ${CMAKE_CURRENT_LIST_DIR}/blk_pattern_test)

# blk_pattern_test(NAME n MODE host-write|guest-fill [SEED s] DISKS size[,opts]... [BOOT opts...]
#                  [EXPECT regex...] [APPEND words...])
function(blk_pattern_test)
  cmake_parse_arguments(P "" "NAME;MODE;TIMEOUT;SEED" "DISKS;BOOT;EXPECT;APPEND" ${ARGN})
  if(NOT P_TIMEOUT)
    set(P_TIMEOUT 120)
  endif()
  set(cmd ${LEVBLK_BLK_PATTERN_TEST} --mode ${P_MODE} --kernel $<TARGET_FILE:levblk.elf>
      --workdir ${CMAKE_BINARY_DIR}/qemu-tests/${P_NAME})
  if(P_SEED)
    list(APPEND cmd --seed ${P_SEED})
  endif()
  foreach(d ${P_DISKS})
    list(APPEND cmd --disk ${d})
  endforeach()
  foreach(b ${P_BOOT})
    list(APPEND cmd --boot ${b})
  endforeach()
  foreach(e ${P_EXPECT})
    list(APPEND cmd --expect ${e})
  endforeach()
  if(P_APPEND)
    list(APPEND cmd -- ${P_APPEND})
  endif()
  add_test(NAME qemu.${P_NAME} COMMAND ${cmd})
  set_tests_properties(qemu.${P_NAME} PROPERTIES TIMEOUT ${P_TIMEOUT} LABELS qemu)
endfunction()

blk_pattern_test(NAME blk.check.modern_gic3 MODE host-write DISKS 32M)
blk_pattern_test(NAME blk.fill.modern_gic3 MODE guest-fill DISKS 32M)
blk_pattern_test(NAME blk.check.legacy_gic2 MODE host-write DISKS 32M BOOT --legacy --gic 2)
blk_pattern_test(NAME blk.fill.legacy_gic2 MODE guest-fill DISKS 32M BOOT --legacy --gic 2)
blk_pattern_test(NAME blk.fill.noindirect_noeventidx MODE guest-fill DISKS 32M,noindirect,noeventidx)
blk_pattern_test(NAME blk.check.noindirect_noeventidx_legacy_gic2 MODE host-write
                 DISKS 32M,noindirect,noeventidx BOOT --legacy --gic 2)
blk_pattern_test(NAME blk.fill.noindirect_gic2 MODE guest-fill DISKS 16M,noindirect BOOT --gic 2)
blk_pattern_test(NAME blk.check.noeventidx_legacy MODE host-write DISKS 16M,noeventidx BOOT --legacy)
blk_pattern_test(NAME blk.fill.lbs4096 MODE guest-fill DISKS 16M,lbs=4096)
blk_pattern_test(NAME blk.check.lbs4096_legacy_gic2 MODE host-write DISKS 16M,lbs=4096 BOOT --legacy --gic 2)
blk_pattern_test(NAME blk.fill.two_disks MODE guest-fill DISKS 16M 8M,lbs=4096)
blk_pattern_test(NAME blk.check.two_disks_gic2 MODE host-write DISKS 16M,noindirect 8M BOOT --gic 2)
blk_pattern_test(NAME blk.fill.qd128_threads8_merge0 MODE guest-fill DISKS 16M
                 APPEND qd=128 threads=8 blk.merge=0)
blk_pattern_test(NAME blk.fill.small_bios MODE guest-fill SEED 3 DISKS 4M APPEND maxbio=8)

# The packed ring (packed=on, modern transport only): 512-byte and 4 KiB
# sectors, GICv2 and v3, indirect and event index on and off, a small
# queue whose ring wraps often; vq.packed=0 keeps the split ring.
blk_pattern_test(NAME blk.fill.packed MODE guest-fill DISKS 32M,packed EXPECT "packed ring")
blk_pattern_test(NAME blk.check.packed MODE host-write DISKS 32M,packed EXPECT "packed ring")
blk_pattern_test(NAME blk.fill.packed_lbs4096_gic2 MODE guest-fill DISKS 16M,packed,lbs=4096
                 BOOT --gic 2 EXPECT "packed ring")
blk_pattern_test(NAME blk.check.packed_lbs4096 MODE host-write DISKS 16M,packed,lbs=4096
                 EXPECT "packed ring")
blk_pattern_test(NAME blk.fill.packed_noindirect_noeventidx MODE guest-fill
                 DISKS 16M,packed,noindirect,noeventidx EXPECT "packed ring")
blk_pattern_test(NAME blk.check.packed_noindirect_qsize4 MODE host-write
                 DISKS 8M,packed,noindirect,qsize=4 EXPECT "packed ring" APPEND vq.indirect_segs=3)
blk_pattern_test(NAME blk.fill.packed_off MODE guest-fill DISKS 16M,packed APPEND vq.packed=0)
# Four queues on four vCPUs, all packed, interrupts coalesced.
blk_pattern_test(NAME blk.fill.packed_queues4_coalesce MODE guest-fill DISKS 16M,packed,queues=4
                 BOOT --smp 4 EXPECT "vda: virtio-blk, .*packed ring.*, 4 queues"
                 APPEND blk.queues=4 vq.coalesce=1)

# Interrupt coalescing (vq.coalesce=1) on both rings: fill's 32 bios in flight
# keep the queue past vq.coalesce_min, so most interrupts are delayed.
blk_pattern_test(NAME blk.fill.coalesce MODE guest-fill DISKS 32M APPEND vq.coalesce=1)
blk_pattern_test(NAME blk.check.coalesce_packed_lbs4096 MODE host-write DISKS 16M,packed,lbs=4096
                 EXPECT "packed ring" APPEND vq.coalesce=1 vq.coalesce_min=2)
blk_pattern_test(NAME blk.fill.coalesce_packed_noindirect_gic2 MODE guest-fill
                 DISKS 16M,packed,noindirect BOOT --gic 2 EXPECT "packed ring"
                 APPEND vq.coalesce=1 vq.coalesce_min=2)

# One segment per request (vq.indirect_segs=3 leaves room for one data
# segment; queue-size=4 makes QEMU's seg_max 2, seg-max-adjust=off 126):
# fill's uneven segments put most blocks in several, which the layer copies
# through its bounce buffers. 512-byte and 4 KiB blocks, modern and legacy.
blk_pattern_test(NAME blk.fill.seg1_qsize4 MODE guest-fill DISKS 8M,qsize=4
                 EXPECT "bounces=[1-9]" APPEND vq.indirect_segs=3)
blk_pattern_test(NAME blk.check.seg1_qsize4_legacy_gic2 MODE host-write DISKS 8M,qsize=4
                 BOOT --legacy --gic 2 APPEND vq.indirect_segs=3)
blk_pattern_test(NAME blk.fill.seg1_noseg_adjust_lbs4096_legacy MODE guest-fill
                 DISKS 8M,noseg-adjust,qsize=4,lbs=4096 BOOT --legacy EXPECT "bounces=[1-9]"
                 APPEND vq.indirect_segs=3)
blk_pattern_test(NAME blk.check.seg1_noseg_adjust_lbs4096 MODE host-write
                 DISKS 8M,noseg-adjust,lbs=4096 APPEND vq.indirect_segs=3 maxbio=8)

# blk.bounce=1: every transfer through the layer's buffers; the last one with
# the smallest pool (64 KiB) on a one-segment device, so bios wait for buffers.
blk_pattern_test(NAME blk.fill.bounce MODE guest-fill DISKS 16M EXPECT "bounces=[1-9]"
                 APPEND blk.bounce=1)
blk_pattern_test(NAME blk.check.bounce_lbs4096_legacy_gic2 MODE host-write DISKS 16M,lbs=4096
                 BOOT --legacy --gic 2 APPEND blk.bounce=1)
blk_pattern_test(NAME blk.fill.bounce_small_pool_seg1 MODE guest-fill DISKS 8M,qsize=4
                 EXPECT "bounce_waits=[1-9]" APPEND blk.bounce=1 blk.bounce_kib=64 vq.indirect_segs=3)
# Two CPUs submitting and completing on two disks, each waiting for its small pool.
blk_pattern_test(NAME blk.fill.bounce_smp2_two_disks MODE guest-fill DISKS 16M 16M BOOT --smp 2
                 EXPECT "vdb counters:.*bounce_waits=[1-9]"
                 APPEND blk.bounce=1 blk.bounce_kib=64 vq.indirect_segs=3 threads=4)

# The demo on a scratch disk, and a fill refused by a read-only disk.
file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/qemu-tests/blk.images)
set(LEVBLK_BLK_IMG ${CMAKE_BINARY_DIR}/qemu-tests/blk.images)
add_test(NAME qemu.blk.images.make COMMAND sh -c
  "rm -f ${LEVBLK_BLK_IMG}/a.img ${LEVBLK_BLK_IMG}/ro.img ${LEVBLK_BLK_IMG}/k4.img && truncate -s 16M ${LEVBLK_BLK_IMG}/a.img ${LEVBLK_BLK_IMG}/ro.img ${LEVBLK_BLK_IMG}/k4.img")
set_tests_properties(qemu.blk.images.make PROPERTIES FIXTURES_SETUP blk_images LABELS qemu)
macro(blk_img_test name)
  levblk_qemu_test(NAME ${name} ${ARGN})
  set_tests_properties(qemu.${name} PROPERTIES FIXTURES_REQUIRED blk_images RESOURCE_LOCK blk_images)
endmacro()
blk_img_test(blk.demo TIMEOUT 60 ARGS --disk ${LEVBLK_BLK_IMG}/a.img APPEND "run=demo scratch=2048"
  EXPECT_REGEX "BLKDEV name=vda capacity=32768 lbs=512 ro=0 transport=2 irq=[0-9]+ features=0x[0-9a-f]+[[:space:]]*$"
  "and read them back: identical" "async sample on vda: [1-9][0-9]* random" "RESULT PASS")
blk_img_test(blk.demo_legacy_ro_4k TIMEOUT 60
  ARGS --legacy --disk ${LEVBLK_BLK_IMG}/ro.img,ro --disk ${LEVBLK_BLK_IMG}/k4.img,lbs=4096
  APPEND "run=demo"
  EXPECT_REGEX "BLKDEV name=vda capacity=32768 lbs=512 ro=1 transport=1 "
  "BLKDEV name=vdb capacity=32768 lbs=4096 ro=0 transport=1 " "nothing written" "RESULT PASS")
blk_img_test(blk.fill_read_only TIMEOUT 60 ARGS --disk ${LEVBLK_BLK_IMG}/ro.img,ro
  APPEND "run=fill count=64 maxbio=8" EXPECT_EXIT 1
  EXPECT_REGEX "IOERR dev=vda op=write sector=[0-9]+ count=[0-9]+ err=-30" "RESULT FAIL I/O errors")
# dev= names each disk once and only disks that exist: a message naming the word.
blk_img_test(blk.fill_dev_twice TIMEOUT 60 ARGS --disk ${LEVBLK_BLK_IMG}/a.img
  APPEND "run=fill dev=vda,vda count=64" EXPECT_EXIT 1 FAIL_REGEX "^FILL "
  EXPECT_REGEX "fill: bad value in dev=vda,vda .vda given twice" "RESULT FAIL bad argument")
blk_img_test(blk.check_no_such_dev TIMEOUT 60 ARGS --disk ${LEVBLK_BLK_IMG}/a.img
  APPEND "run=check dev=vda,vdb" EXPECT_EXIT 1 FAIL_REGEX "^CHECK "
  EXPECT_REGEX "check: bad value in dev=vda,vdb .no disk vdb" "RESULT FAIL no such device")
blk_img_test(blk.selftest.disks_gic3 TIMEOUT 120
  ARGS --disk ${LEVBLK_BLK_IMG}/a.img --disk ${LEVBLK_BLK_IMG}/ro.img,ro --disk ${LEVBLK_BLK_IMG}/k4.img,lbs=4096
  APPEND "run=selftest only=blk." FAIL_REGEX "# skip" EXPECT_REGEX "RESULT PASS")
blk_img_test(blk.selftest.disks_legacy_gic2 TIMEOUT 120
  ARGS --legacy --gic 2 --disk ${LEVBLK_BLK_IMG}/k4.img,lbs=4096,noindirect --disk ${LEVBLK_BLK_IMG}/ro.img,ro
  --disk ${LEVBLK_BLK_IMG}/a.img,noeventidx
  APPEND "run=selftest only=blk." FAIL_REGEX "# skip" EXPECT_REGEX "RESULT PASS")

# Device errors through QEMU's blkdebug (the full fault matrix is in robust.cmake):
# a transient write error is retried and the fill passes; a persistent one
# fails exactly one bio, the one that covers sector 1000, after the retries.
add_test(NAME qemu.blk.images.make_err COMMAND sh -c
  "rm -f ${LEVBLK_BLK_IMG}/e1.img ${LEVBLK_BLK_IMG}/e2.img && truncate -s 8M ${LEVBLK_BLK_IMG}/e1.img ${LEVBLK_BLK_IMG}/e2.img")
set_tests_properties(qemu.blk.images.make_err PROPERTIES FIXTURES_SETUP blk_err_images LABELS qemu)
levblk_qemu_test(NAME blk.transient_write_retried TIMEOUT 60
  ARGS --disk ${LEVBLK_BLK_IMG}/e1.img,blkdebug=${CMAKE_CURRENT_LIST_DIR}/blk_transient_write.conf
  APPEND "run=fill" FAIL_REGEX "IOERR"
  EXPECT_REGEX "FILL dev=vda sectors=16384 bios=[0-9]+ requests=[0-9]+ errors=0" "retries=[1-9]" "RESULT PASS")
levblk_qemu_test(NAME blk.persistent_write_isolated TIMEOUT 60
  ARGS --disk ${LEVBLK_BLK_IMG}/e2.img,blkdebug=${CMAKE_CURRENT_LIST_DIR}/blk_persistent_write.conf
  APPEND "run=fill" EXPECT_EXIT 1
  EXPECT_REGEX "IOERR dev=vda op=write sector=[0-9]+ count=[0-9]+ err=-5"
  "FILL dev=vda sectors=16384 bios=[0-9]+ requests=[0-9]+ errors=1[[:space:]]" "retries=[1-9]" "RESULT FAIL I/O errors")
set_tests_properties(qemu.blk.transient_write_retried qemu.blk.persistent_write_isolated PROPERTIES
  FIXTURES_REQUIRED blk_err_images)
