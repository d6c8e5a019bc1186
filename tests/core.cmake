# Core tests: every op on every engine, the tape, the seed's gradients, the op and status tables, allocation
# failure in every engine, the C++17 build of the workloads, the agreement of all engines on all workloads, and
# differential fuzzing. Labels: unit, agreement, fuzz.

# Shared by the op, fuzz and non-finite tests: random programs (prog.h: prog_gen.c generates them, prog.c is
# their interpreter, compiled once per engine by tprog_<engine>.c), the references, the checker and the printer.
add_library(adlab_tprog STATIC tprog.c prog_gen.c tprog_primal.c tprog_dual.c tprog_tape.c tprog_tape_op.c
                               tprog_graph.c tprog_replay.c)
target_include_directories(adlab_tprog PUBLIC ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/bench)
target_link_libraries(adlab_tprog PUBLIC adlab_harness m)

adlab_test(test_ad SOURCES test_ad.c LABELS unit LIBS adlab_tprog)
adlab_test(test_ops SOURCES test_ops.c LABELS unit LIBS adlab_tprog)
adlab_test(test_seed SOURCES test_seed.c LABELS unit)
adlab_test(test_tape SOURCES test_tape.c LABELS unit)
adlab_test(test_preacc SOURCES test_preacc.c LABELS unit)
adlab_test(test_chunk SOURCES test_chunk.c LABELS unit)
adlab_test(test_ckpt SOURCES test_ckpt.c LABELS unit)
adlab_test(test_ckpt_tape SOURCES test_ckpt_tape.c LABELS unit agreement)
adlab_test(test_ckpt_graph SOURCES test_ckpt_graph.c LABELS unit agreement)
adlab_test(test_alloc SOURCES test_alloc.c LABELS unit)
adlab_test(test_fuzz SOURCES test_fuzz.c LABELS fuzz LIBS adlab_tprog)
# The dual engine's K-lane builds against K = 1 on random programs, lane by lane (one executable per K).
foreach(_k 2 4 8 16)
  adlab_test(test_dual_lanes_${_k} SOURCES test_dual_lanes.c LABELS fuzz unit LIBS adlab_tprog)
  target_compile_definitions(test_dual_lanes_${_k} PRIVATE DUAL_LANES=${_k})
  target_compile_options(test_dual_lanes_${_k} PRIVATE -Wno-psabi)
endforeach()
adlab_test(test_nonfinite SOURCES test_nonfinite.c LABELS unit agreement LIBS adlab_tprog)
# The vector reverse sweep (K adjoint lanes) against the one-adjoint sweep; `test_lanes time mix 129` times them (n = m = 256).
adlab_test(test_lanes SOURCES test_lanes.c LABELS unit agreement)
adlab_test(test_lanes_replay SOURCES test_lanes_replay.c LABELS unit)
adlab_test(test_misuse SOURCES test_misuse.c LABELS unit)
# Without ode_adapt's step cap, its test records until memory runs out: a time limit turns that into a failure.
set_tests_properties(test_misuse PROPERTIES TIMEOUT 120)
adlab_test(test_wl_cxx SOURCES test_wl_cxx.cc LABELS unit)
adlab_test(test_agreement SOURCES test_agreement.c LABELS agreement ARGS $<TARGET_FILE:adcheck>)
add_dependencies(test_agreement adcheck)

# The checker checked: judge.h's measures on known answers, the checker fed known-wrong engines, adcheck's exit
# statuses, misuse and JSON.
adlab_test(test_judge SOURCES test_judge.c LABELS unit)
adlab_test(test_checker SOURCES test_checker.c LABELS unit)
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME test_adcheck COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_adcheck.py
                                     $<TARGET_FILE:adcheck> ${ADLAB_SANITIZE})
  set_tests_properties(test_adcheck PROPERTIES LABELS "unit;agreement")
endif()
