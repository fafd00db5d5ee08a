# The kernel image, built from one OBJECT library per layer (cmake/layers.cmake
# says which layers there are and what each may see). Every .c and .S under a
# layer's folder belongs to it: a new file needs no edit here (CONFIGURE_DEPENDS
# re-globs on each build).
include(${CMAKE_CURRENT_LIST_DIR}/layers.cmake)

# Compile flags every kernel layer shares.
# FP/SIMD policy: the kernel is integer-only (-mgeneral-regs-only), so thread
# switches never save FP state and CPACR_EL1.FPEN stays 0: a stray FP
# instruction traps and panics instead of corrupting another thread's state.
add_library(levblk_kernel_flags INTERFACE)
target_compile_options(levblk_kernel_flags INTERFACE
  $<$<COMPILE_LANGUAGE:C>:-std=gnu11 -ffreestanding -fno-builtin -fno-common
     -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer ${LEVBLK_WARNINGS}>
  $<$<COMPILE_LANGUAGE:ASM>:-Wall -Werror>)
target_compile_definitions(levblk_kernel_flags INTERFACE LEVBLK_KERNEL=1)

levblk_add_layers(levblk_kernel_flags)

# The image links every layer's objects directly. OBJECT libraries, not static
# archives: the INITCALL, JOB, PARAM and SELFTEST entries
# (include/levblk/init.h) are reached only through their linker sections,
# and an archive member nobody references by symbol would be left out.
add_executable(levblk.elf)
target_link_libraries(levblk.elf PRIVATE ${LEVBLK_LAYER_TARGETS})
set(LEVBLK_LINKER_SCRIPT ${CMAKE_SOURCE_DIR}/src/hal/link.ld)
target_link_options(levblk.elf PRIVATE -nostdlib -T ${LEVBLK_LINKER_SCRIPT} -Wl,--gc-sections -Wl,-z,max-page-size=4096)
set_target_properties(levblk.elf PROPERTIES LINKER_LANGUAGE C LINK_DEPENDS ${LEVBLK_LINKER_SCRIPT})

# The test kernel, levblk-test.elf: the same layers, except that the blk layer
# is compiled a second time with LEVBLK_FAULT_INJECT, the test-only fault
# injection of the virtio-blk driver (src/blk/virtio_blk_fault.h: lost
# interrupts, stalls, withheld doorbells). The QEMU robustness tests that
# inject faults boot it; levblk.elf, the production kernel, never contains it.
option(LEVBLK_FAULT_INJECT "Also build levblk-test.elf, the kernel with test-only fault injection" ON)
if(LEVBLK_FAULT_INJECT)
  set(levblk_test_targets ${LEVBLK_LAYER_TARGETS})
  # blk (the driver's hooks) and virtio (a used-ring entry the "device" corrupts).
  foreach(layer blk virtio)
    get_target_property(levblk_${layer}_sources levblk_${layer} SOURCES)
    add_library(levblk_${layer}_fault_inject OBJECT ${levblk_${layer}_sources})
    foreach(prop INCLUDE_DIRECTORIES COMPILE_OPTIONS COMPILE_DEFINITIONS LINK_LIBRARIES)
      set_property(TARGET levblk_${layer}_fault_inject PROPERTY ${prop}
                   $<TARGET_PROPERTY:levblk_${layer},${prop}>)
    endforeach()
    target_compile_definitions(levblk_${layer}_fault_inject PRIVATE LEVBLK_FAULT_INJECT=1)
    list(TRANSFORM levblk_test_targets REPLACE "^levblk_${layer}$" levblk_${layer}_fault_inject)
  endforeach()
  add_executable(levblk-test.elf)
  target_link_libraries(levblk-test.elf PRIVATE ${levblk_test_targets})
  target_link_options(levblk-test.elf PRIVATE -nostdlib -T ${LEVBLK_LINKER_SCRIPT} -Wl,--gc-sections -Wl,-z,max-page-size=4096)
  set_target_properties(levblk-test.elf PROPERTIES LINKER_LANGUAGE C LINK_DEPENDS ${LEVBLK_LINKER_SCRIPT})
endif()
