# QEMU targets and the ctest helper for in-guest tests.
#
# levblk_qemu_test(NAME n [TIMEOUT s] [APPEND "cmdline"] [ARGS tools/qemu-boot options...]
#                  [EXPECT_EXIT code] [EXPECT_REGEX re ...] [FAIL_REGEX re ...])
# boots build/aarch64/levblk.elf through tools/qemu-boot, which prints the
# guest console and exits 0 when QEMU's status is the expected one (default 0:
# RESULT PASS; 1 is RESULT FAIL, 3 a panic).
set(LEVBLK_QEMU_BOOT ${CMAKE_SOURCE_DIR}/tools/qemu-boot)

function(levblk_qemu_test)
  cmake_parse_arguments(Q "" "NAME;TIMEOUT;APPEND;EXPECT_EXIT" "ARGS;EXPECT_REGEX;FAIL_REGEX" ${ARGN})
  if(NOT Q_TIMEOUT)
    set(Q_TIMEOUT 120)
  endif()
  set(cmd ${LEVBLK_QEMU_BOOT} --kernel $<TARGET_FILE:levblk.elf> --workdir ${CMAKE_BINARY_DIR}/qemu-tests/${Q_NAME} ${Q_ARGS})
  if(DEFINED Q_APPEND)
    list(APPEND cmd -- ${Q_APPEND})
  endif()
  if(DEFINED Q_EXPECT_EXIT)
    list(INSERT cmd 1 --expect-exit ${Q_EXPECT_EXIT})
  endif()
  # Output checks run inside qemu-boot, so the exit status is always checked too
  # (ctest's PASS_REGULAR_EXPRESSION would ignore it).
  foreach(re ${Q_EXPECT_REGEX})
    list(INSERT cmd 1 --expect-output ${re})
  endforeach()
  foreach(re ${Q_FAIL_REGEX})
    list(INSERT cmd 1 --reject-output ${re})
  endforeach()
  add_test(NAME qemu.${Q_NAME} COMMAND ${cmd})
  set_tests_properties(qemu.${Q_NAME} PROPERTIES TIMEOUT ${Q_TIMEOUT} LABELS qemu)
endfunction()

# cmake --build --preset aarch64 --target run     boots the demo through tools/run
# cmake --build --preset aarch64 --target debug   same, halted for gdb-multiarch on :1234
add_custom_target(run COMMAND ${CMAKE_SOURCE_DIR}/tools/run --no-build
                  DEPENDS levblk.elf USES_TERMINAL WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
add_custom_target(debug COMMAND ${CMAKE_SOURCE_DIR}/tools/run --no-build --gdb
                  DEPENDS levblk.elf USES_TERMINAL WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
