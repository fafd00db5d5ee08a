# run=bench: short runs (ios=, never secs=) of every workload on both engines,
# checked by tools/bench-check: every BENCH field present and numeric,
# errors 0, ios == bios, plus the deterministic counters (engine=sync takes
# no interrupt; sequential 4k writes at qd 32 merge into fewer than a quarter
# as many requests; blk.merge=0 makes one request per bio). No check on time.
#
# Each test makes its own sparse 64 MiB images (QEMU locks an image it has
# open, and ctest runs tests in parallel), in build/aarch64/qemu-tests/<name>/.
#
# levblk_bench_test(NAME n APPEND "words" [DISKS k] [CHECKS bench-check options...]
#                   [ARGS qemu-boot options...] [DISK_OPTS ,lbs=4096...])
function(levblk_bench_test)
  cmake_parse_arguments(B "" "NAME;APPEND;DISKS;DISK_OPTS;TIMEOUT" "CHECKS;ARGS" ${ARGN})
  if(NOT B_DISKS)
    set(B_DISKS 1)
  endif()
  if(NOT B_TIMEOUT)
    set(B_TIMEOUT 120)
  endif()
  set(dir ${CMAKE_BINARY_DIR}/qemu-tests/bench.${B_NAME})
  set(disks "")
  set(mk "mkdir -p ${dir}")
  foreach(i RANGE 1 ${B_DISKS})
    list(APPEND disks --disk ${dir}/d${i}.img${B_DISK_OPTS})
    string(APPEND mk " && rm -f ${dir}/d${i}.img && truncate -s 64M ${dir}/d${i}.img")
  endforeach()
  string(REPLACE ";" " " checks "${B_CHECKS}")
  string(REPLACE ";" " " args "${disks};${B_ARGS}")
  add_test(NAME qemu.bench.${B_NAME}
           COMMAND sh -c "${mk} && exec ${CMAKE_SOURCE_DIR}/tools/bench-check ${checks} -- --kernel $<TARGET_FILE:levblk.elf> --workdir ${dir} --timeout ${B_TIMEOUT} ${args} -- run=bench ${B_APPEND}")
  set_tests_properties(qemu.bench.${B_NAME} PROPERTIES TIMEOUT ${B_TIMEOUT} LABELS qemu)
endfunction()

# Every workload, both engines: 4 KiB at qd 8 (sync: one at a time, no interrupt).
foreach(rw read write randread randwrite randrw)
  levblk_bench_test(NAME ${rw}_async APPEND "rw=${rw} bs=4096 qd=8 ios=1000 engine=async"
                    CHECKS --ios 1000 --field rw=${rw} --field engine=async)
  levblk_bench_test(NAME ${rw}_sync APPEND "rw=${rw} bs=4096 ios=500 engine=sync"
                    CHECKS --ios 500 --irqs-zero --field rw=${rw} --field engine=sync --field qd=1)
endforeach()

# Merging: sequential 4k writes at qd 32 become requests of 64 KiB or more on
# average; with blk.merge=0 every bio is its own request.
levblk_bench_test(NAME seqwrite_merge APPEND "rw=write bs=4096 qd=32 ios=4000"
                  CHECKS --merged --ios 4000)
levblk_bench_test(NAME seqread_merge APPEND "rw=read bs=4096 qd=32 ios=4000"
                  CHECKS --merged --ios 4000)
levblk_bench_test(NAME seqwrite_nomerge APPEND "rw=write bs=4096 qd=32 ios=2000 blk.merge=0"
                  CHECKS --unmerged --ios 2000)
# Several threads sharing the depth; big blocks; the time-bounded mode.
levblk_bench_test(NAME randread_threads APPEND "rw=randread bs=4096 qd=32 threads=4 ios=2000"
                  CHECKS --ios 2000 --field threads=4)
# 1 MiB requests are full-size: each gets its own doorbell, so that QEMU's
# virtio-blk (request-merging on by default) does not fold four of them into
# one 4 MiB host read done by one thread (the driver's vblk_queue_rq).
levblk_bench_test(NAME read_1m APPEND "rw=read bs=1M qd=4 ios=64"
                  CHECKS --ios 64 --field bs=1048576 --kick-each)
# 1 MiB, the most one request carries (the driver's max_sectors), on the
# polled path (polled bios are tested on the host, test_vblk_poll).
levblk_bench_test(NAME write_1m_sync APPEND "rw=write bs=1M ios=16 engine=sync"
                  CHECKS --ios 16 --irqs-zero --field bs=1048576)
levblk_bench_test(NAME randrw_secs APPEND "rw=randrw bs=8192 qd=4 secs=1" CHECKS --field bs=8192)
# Two disks at once: one line each and one for the sum (dev "vda,vdb").
levblk_bench_test(NAME two_disks APPEND "dev=vda,vdb rw=randread bs=4096 qd=8 ios=500" DISKS 2
                  CHECKS --lines 3 --ios 500)
levblk_bench_test(NAME two_disks_sync APPEND "dev=vda,vdb rw=write bs=4096 ios=300 engine=sync"
                  DISKS 2 CHECKS --lines 3 --ios 300 --irqs-zero)
# 4 KiB logical blocks, GICv2, legacy virtio-mmio: the same fields.
levblk_bench_test(NAME lbs4k_gic2_legacy APPEND "rw=randwrite bs=8192 qd=16 ios=1000"
                  DISK_OPTS ",lbs=4096" ARGS --gic 2 --legacy CHECKS --ios 1000)
levblk_bench_test(NAME lbs4k_sync APPEND "rw=randread bs=4096 ios=300 engine=sync"
                  DISK_OPTS ",lbs=4096" CHECKS --ios 300 --irqs-zero)
# No event index (legacy transport, or event_idx=off): the poll's "no
# interrupt" hint is then the avail ring's NO_INTERRUPT flag.
levblk_bench_test(NAME sync_gic2_legacy APPEND "rw=randwrite bs=4096 ios=300 engine=sync"
                  ARGS --gic 2 --legacy CHECKS --ios 300 --irqs-zero)
levblk_bench_test(NAME sync_noeventidx APPEND "rw=read bs=65536 ios=200 engine=sync"
                  DISK_OPTS ",noeventidx,noindirect" CHECKS --ios 200 --irqs-zero)

# Bad arguments: a message naming the word, then RESULT FAIL.
set(bench_bad_disk ${CMAKE_BINARY_DIR}/qemu-tests/bench.bad.img)
add_test(NAME qemu.bench.bad_disk_setup
         COMMAND sh -c "mkdir -p ${CMAKE_BINARY_DIR}/qemu-tests && truncate -s 1M ${bench_bad_disk}")
set_tests_properties(qemu.bench.bad_disk_setup PROPERTIES FIXTURES_SETUP bench_bad_disk)
function(levblk_bench_bad NAME WORDS RE)
  levblk_qemu_test(NAME bench.bad_${NAME} TIMEOUT 60 ARGS --disk ${bench_bad_disk},ro
                   APPEND "run=bench ${WORDS}" EXPECT_EXIT 1 EXPECT_REGEX "${RE}" "RESULT FAIL")
  set_tests_properties(qemu.bench.bad_${NAME} PROPERTIES FIXTURES_REQUIRED bench_bad_disk)
endfunction()
levblk_bench_bad(bs "bs=1000" "bad value in bs=1000")
levblk_bench_bad(bs_big "bs=2M" "bad value in bs=2M")
levblk_bench_bad(qd "qd=0" "bad value in qd=0")
levblk_bench_bad(qd_big "qd=257" "bad value in qd=257")
levblk_bench_bad(rw "rw=foo" "bad value in rw=foo")
levblk_bench_bad(engine "engine=turbo" "bad value in engine=turbo")
levblk_bench_bad(dev "dev=vdq" "bad value in dev=vdq")
levblk_bench_bad(both "secs=1 ios=10" "give secs= or ios=, not both")
levblk_bench_bad(threads "qd=2 threads=3" "bad value in threads=3")
levblk_bench_bad(readonly "rw=write ios=10" "bad value in rw=write .vda is read-only")
# A 4 KiB-block disk takes no 512-byte I/O.
levblk_qemu_test(NAME bench.bad_bs_lbs TIMEOUT 60 ARGS --disk ${bench_bad_disk},ro,lbs=4096
                 APPEND "run=bench bs=512" EXPECT_EXIT 1
                 EXPECT_REGEX "bad value in bs=512 .not whole 4096-byte logical blocks of vda" "RESULT FAIL")
set_tests_properties(qemu.bench.bad_bs_lbs PROPERTIES FIXTURES_REQUIRED bench_bad_disk)

# The CI smoke test: tools/bench's quick matrix with its checks
# (every point ends with errors=0 and every field, sequential 4k writes at
# qd 32 merge, engine=sync takes no interrupt). No assertion on time.
add_test(NAME qemu.bench.tools_quick_check
         COMMAND ${CMAKE_SOURCE_DIR}/tools/bench --quick --check --no-build
                 --kernel $<TARGET_FILE:levblk.elf> --out ${CMAKE_BINARY_DIR}/qemu-tests/bench.quick)
set_tests_properties(qemu.bench.tools_quick_check PROPERTIES TIMEOUT 300 LABELS qemu)

# bench-check refuses a run that needed the deadline recovery: a stalled
# device (blk.fault_stall) recovered with errors=0 must still fail the check,
# with the reason named. It boots the test kernel, which has the fault injection.
if(LEVBLK_FAULT_INJECT)
set(dir ${CMAKE_BINARY_DIR}/qemu-tests/bench.stuck_run_refused)
add_test(NAME qemu.bench.stuck_run_refused
         COMMAND sh -c "mkdir -p ${dir} && rm -f ${dir}/d1.img && truncate -s 64M ${dir}/d1.img && \
if ${CMAKE_SOURCE_DIR}/tools/bench-check -- --kernel $<TARGET_FILE:levblk-test.elf> --workdir ${dir} \
--timeout 120 --disk ${dir}/d1.img -- run=bench rw=randread bs=4096 qd=4 ios=3000 \
blk.fault_stall=500 blk.timeout_ms=50 > ${dir}/out.txt 2>&1; then echo 'bench-check passed a stuck run'; exit 1; fi; \
grep 'needed the deadline recovery: timeouts=' ${dir}/out.txt")
set_tests_properties(qemu.bench.stuck_run_refused PROPERTIES TIMEOUT 120 LABELS qemu)
endif()
