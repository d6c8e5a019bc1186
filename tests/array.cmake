# Arrays (engines/ad_array.h): every array op on the tape against the scalar tape and finite differences, shapes,
# broadcasting, bad input, allocation failure and the SIMD kernels (test_array); every tensor-form workload against
# its scalar twin on every engine (test_array_twins).
adlab_test(test_array SOURCES test_array.c LABELS unit)
adlab_test(test_array_dual SOURCES test_array_dual.c LABELS unit)
adlab_test(test_array_twins SOURCES test_array_twins.c LABELS agreement)
# The graph and replay engines' native arrays (one node or statement per array op): every op against the engine's
# scalar form, random array programs against the tape and the primal engine, PyTorch's rules on array nodes,
# replays at new inputs and guards, bad input and allocation failure.
adlab_test(test_array_graph SOURCES test_array_graph.c array_rprog_primal.c array_rprog_tape.c array_rprog_graph.c
           LABELS unit graph)
adlab_test(test_array_replay SOURCES test_array_replay.c array_rprog_primal.c array_rprog_tape.c
           array_rprog_replay.c LABELS unit replay)

# Random array programs (aprog.h) on every engine with arrays against the scalar form on the scalar tape
# (test_fuzz_array): the generator once, the interpreter aprog_run.c once per engine (APROG_ENGINE).
set(_aprog_objects)
set(_aprog_n 0)
foreach(_e primal dual tape tape_op graph replay)
  math(EXPR _aprog_n "${_aprog_n} + 1")
  add_library(adlab_aprog_${_e} OBJECT aprog_run.c)
  target_compile_definitions(adlab_aprog_${_e} PRIVATE APROG_ENGINE=${_aprog_n})
  target_include_directories(adlab_aprog_${_e} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/bench/harness)
  target_link_libraries(adlab_aprog_${_e} PRIVATE adlab_harness)
  list(APPEND _aprog_objects $<TARGET_OBJECTS:adlab_aprog_${_e}>)
endforeach()
adlab_test(test_fuzz_array SOURCES test_fuzz_array.c aprog_gen.c ${_aprog_objects} LABELS fuzz)
