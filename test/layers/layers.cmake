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

# layers.order: test/layers/check_layers.py over the whole tree and the image's
# objects: no file includes a header of a higher layer or another layer's
# private header, no layer uses a symbol of a higher one.
# layers.order_catches_violations: the same script on a fixture that breaks
# the include rules must name both breaks.
find_program(LEVBLK_PYTHON3 NAMES python3 REQUIRED)
find_program(LEVBLK_LLVM_NM NAMES llvm-nm REQUIRED)
set(objects)
foreach(t ${LEVBLK_LAYER_TARGETS})
  string(REPLACE "levblk_" "" layer ${t})
  list(APPEND objects --objects "${layer}=$<JOIN:$<TARGET_OBJECTS:${t}>,$<COMMA>>")
endforeach()
string(REPLACE ";" "\\;" layer_arg "${LEVBLK_LAYERS}")
string(REPLACE ";" "\\;" headers_arg "${LEVBLK_PUBLIC_HEADERS}")
add_test(NAME layers.order
         COMMAND ${LEVBLK_PYTHON3} ${dir}/check_layers.py --source-dir ${CMAKE_SOURCE_DIR}
                 --layers ${layer_arg} --public-headers ${headers_arg}
                 --nm ${LEVBLK_LLVM_NM} ${objects})
add_test(NAME layers.order_catches_violations
         COMMAND ${LEVBLK_PYTHON3} ${dir}/check_layers.py --source-dir ${dir}/fixture
                 --layers ${layer_arg} --public-headers ${headers_arg})
set_tests_properties(layers.order layers.order_catches_violations PROPERTIES LABELS layers TIMEOUT 60)
# (The script's exit status is 1 there; the expected output is what decides.)
set_tests_properties(layers.order_catches_violations PROPERTIES PASS_REGULAR_EXPRESSION
  "includes <levblk/kern/thread.h> of the higher layer kern.*\"../irq/gic.h\" is not a private header of src/hal/.*layers: 2 violation")
