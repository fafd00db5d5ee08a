# The kernel's layers, lowest first. A layer is the folder src/<layer>/; its
# code may include its own private headers (the .h files beside its .c files)
# and the public headers (include/levblk/) of its own and lower layers, and it
# may call only into its own and lower layers.
#
# levblk_add_layers() makes one OBJECT library levblk_<layer> per folder that
# has sources: PRIVATE include folder src/<layer>/, the public include/ folder,
# and a PUBLIC link to the layer below it. No target has src/ on its include
# path, so #include "hal/trap.h" from src/irq does not compile.
set(LEVBLK_LAYERS lib hal irq kern virtio blk fs jobs)

# Public headers: include/levblk/<layer>/x.h belongs to <layer>. The headers
# directly in include/levblk/ are the ones for code written on top of levblk
# (a filesystem, a job); each is listed here with the layer that implements
# it, so that a lower layer cannot include it (ctest layers.order checks).
set(LEVBLK_PUBLIC_HEADERS
  atomic.h:lib container_of.h:lib errno.h:lib init.h:lib
  console.h:hal
  completion.h:kern thread.h:kern kmalloc.h:kern mutex.h:kern rwlock.h:kern
  bio.h:blk blkdev.h:blk blk_poll.h:blk blk_trace.h:blk
  fs.h:fs)

# Fails the configure step for a folder under src/ that is not a layer, so
# nobody's new folder silently escapes the rules.
function(levblk_check_layer_folders)
  file(GLOB entries LIST_DIRECTORIES true CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/*)
  foreach(e ${entries})
    if(IS_DIRECTORY ${e})
      get_filename_component(name ${e} NAME)
      if(NOT name IN_LIST LEVBLK_LAYERS)
        message(FATAL_ERROR "src/${name}/ is not a layer: add it to LEVBLK_LAYERS in cmake/layers.cmake")
      endif()
    endif()
  endforeach()
endfunction()

# levblk_add_layers(flags_target): defines levblk_<layer> for each layer with
# sources and sets LEVBLK_LAYER_TARGETS (lowest first) in the caller's scope.
function(levblk_add_layers flags)
  levblk_check_layer_folders()
  set(targets)
  set(below)
  foreach(layer ${LEVBLK_LAYERS})
    set(dir ${CMAKE_SOURCE_DIR}/src/${layer})
    # Globbed even while the folder is empty or missing, so that its first
    # file triggers a re-configure.
    file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${dir}/*.c ${dir}/*.S)
    if(NOT sources)
      continue()
    endif()
    set(t levblk_${layer})
    add_library(${t} OBJECT ${sources})
    target_include_directories(${t} PRIVATE ${dir} PUBLIC ${CMAKE_SOURCE_DIR}/include)
    target_link_libraries(${t} PRIVATE ${flags})
    if(below)
      target_link_libraries(${t} PUBLIC ${below})
    endif()
    set(below ${t})
    list(APPEND targets ${t})
  endforeach()
  set(LEVBLK_LAYER_TARGETS ${targets} PARENT_SCOPE)
endfunction()
