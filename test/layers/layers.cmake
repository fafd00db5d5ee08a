# The layer rules of cmake/layers.cmake, checked (aarch64 preset, label
# "layers"). Two files compiled exactly as the irq layer's own code is (same
# include path, options and definitions), but outside the image:
#   layers.own_private_include     includes irq's private gic.h: must compile
#   layers.other_private_include   includes the HAL's private hal/trap.h: must
#                                  fail with "file not found"
function(levblk_layer_probe name layer source)
  add_library(${name} OBJECT EXCLUDE_FROM_ALL ${source})
  foreach(prop INCLUDE_DIRECTORIES COMPILE_OPTIONS COMPILE_DEFINITIONS)
    set_property(TARGET ${name} PROPERTY ${prop} $<TARGET_PROPERTY:levblk_${layer},${prop}>)
  endforeach()
endfunction()

set(dir ${CMAKE_CURRENT_LIST_DIR})
levblk_layer_probe(levblk_layers_own_private irq ${dir}/irq_own_private.c)
levblk_layer_probe(levblk_layers_other_private irq ${dir}/irq_other_private.c)

# Each test builds its probe in this build tree; one at a time (one ninja per tree).
add_test(NAME layers.own_private_include
         COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target levblk_layers_own_private)
add_test(NAME layers.other_private_include
         COMMAND ${CMAKE_COMMAND} --build ${CMAKE_BINARY_DIR} --target levblk_layers_other_private)
set_tests_properties(layers.own_private_include layers.other_private_include PROPERTIES
  LABELS layers TIMEOUT 120 RESOURCE_LOCK levblk_build_tree)
set_tests_properties(layers.other_private_include PROPERTIES
  PASS_REGULAR_EXPRESSION "'hal/trap.h' file not found")
