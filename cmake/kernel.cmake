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
# (include/levblk/kern/init.h) are reached only through their linker sections,
# and an archive member nobody references by symbol would be left out.
add_executable(levblk.elf)
target_link_libraries(levblk.elf PRIVATE ${LEVBLK_LAYER_TARGETS})
set(LEVBLK_LINKER_SCRIPT ${CMAKE_SOURCE_DIR}/src/hal/link.ld)
target_link_options(levblk.elf PRIVATE -nostdlib -T ${LEVBLK_LINKER_SCRIPT} -Wl,--gc-sections -Wl,-z,max-page-size=4096)
set_target_properties(levblk.elf PROPERTIES LINKER_LANGUAGE C LINK_DEPENDS ${LEVBLK_LINKER_SCRIPT})
