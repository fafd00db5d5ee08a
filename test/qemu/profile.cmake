# tools/guest-profile: a short profiled bench run. Each bio enters submit_bio
# and its end_io exactly once, so their call counts per I/O are 1.00 whatever
# the host's speed: a broken log parser or symbol map cannot produce that.
set(dir ${CMAKE_BINARY_DIR}/qemu-tests/profile)
add_test(NAME qemu.tools.guest_profile
         COMMAND sh -c "mkdir -p ${dir} && ${CMAKE_SOURCE_DIR}/tools/guest-profile --top 60 \
--kernel $<TARGET_FILE:levblk.elf> --workdir ${dir} -- run=bench rw=write bs=4096 qd=8 ios=400 \
> ${dir}/out.txt 2>&1; s=$?; cat ${dir}/out.txt; [ $s = 0 ] && \
grep -q '^guest instructions: [0-9]*, [0-9]* per I/O (400 I/Os' ${dir}/out.txt && \
grep -Eq ' 1\\.00  submit_bio$' ${dir}/out.txt && grep -Eq ' 1\\.00  bench_async_end_io$' ${dir}/out.txt")
set_tests_properties(qemu.tools.guest_profile PROPERTIES TIMEOUT 120 LABELS qemu)
