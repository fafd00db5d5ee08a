# The layer's latency histograms and trace ring on QEMU: run=demo prints a
# LATENCY line per disk; a fill with blk.trace=1 dumps TRACE lines that
# tools/blk-trace turns into a timeline with as many requests as the job
# made (test/qemu/blk_trace_test), legacy and modern, merging on and off.
set(LEVBLK_BLK_TRACE_TEST ${CMAKE_CURRENT_LIST_DIR}/blk_trace_test)
function(blk_trace_test name)
  add_test(NAME qemu.${name} COMMAND ${LEVBLK_BLK_TRACE_TEST} --kernel $<TARGET_FILE:levblk.elf>
           --workdir ${CMAKE_BINARY_DIR}/qemu-tests/${name} ${ARGN})
  set_tests_properties(qemu.${name} PROPERTIES TIMEOUT 120 LABELS qemu)
endfunction()
blk_trace_test(blk.trace.timeline_modern)
blk_trace_test(blk.trace.timeline_legacy_nomerge --legacy -- blk.merge=0)

levblk_qemu_test(NAME blk.trace.demo_latency TIMEOUT 60 APPEND "run=demo"
  ARGS --disk ${CMAKE_BINARY_DIR}/qemu-tests/blk.images/a.img
  EXPECT_REGEX "LATENCY dev=vda read_count=[1-9][0-9]* read_p50_us=[0-9]+ read_p99_us=[0-9]+ read_max_us=[0-9]+ write_count=[0-9]+ .* flush_count=[0-9]+ .* other_count=[0-9]+ "
  "RESULT PASS")
set_tests_properties(qemu.blk.trace.demo_latency PROPERTIES FIXTURES_REQUIRED blk_images RESOURCE_LOCK blk_images)
