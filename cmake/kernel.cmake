# The kernel image. Every .c and .S under src/ belongs to it: a new file needs
# no edit here (CONFIGURE_DEPENDS re-globs on each build).
file(GLOB_RECURSE LEVBLK_KERNEL_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/src/*.c ${CMAKE_SOURCE_DIR}/src/*.S)

add_executable(levblk.elf ${LEVBLK_KERNEL_SOURCES})
set(LEVBLK_LINKER_SCRIPT ${CMAKE_SOURCE_DIR}/src/hal/link.ld)
target_include_directories(levblk.elf PRIVATE ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
# FP/SIMD policy: the kernel is integer-only (-mgeneral-regs-only), so thread
# switches never save FP state and CPACR_EL1.FPEN stays 0: a stray FP
# instruction traps and panics instead of corrupting another thread's state.
target_compile_options(levblk.elf PRIVATE
  $<$<COMPILE_LANGUAGE:C>:-std=gnu11 -ffreestanding -fno-builtin -fno-common
     -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer ${LEVBLK_WARNINGS}>
  $<$<COMPILE_LANGUAGE:ASM>:-Wall -Werror>)
target_compile_definitions(levblk.elf PRIVATE LEVBLK_KERNEL=1)
target_link_options(levblk.elf PRIVATE -nostdlib -T ${LEVBLK_LINKER_SCRIPT} -Wl,--gc-sections -Wl,-z,max-page-size=4096)
set_target_properties(levblk.elf PROPERTIES LINK_DEPENDS ${LEVBLK_LINKER_SCRIPT})
