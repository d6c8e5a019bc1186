# Benchmark problems (bench/workloads: gmm, ba, lstm, det, lse, ode, ode_adapt, llsq, mix, recur), label: workloads.
# One test per workload: hand-written derivatives against finite differences and every engine, node counts,
# allocation failure. Then the definitions against independent formulas, BA's sparse Jacobian assembled
# observation by observation, and the forward/reverse Jacobians of the crossover workload.
add_executable(test_wl_problems test_wl_problems.c)
target_include_directories(test_wl_problems PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/bench)
target_link_libraries(test_wl_problems PRIVATE adlab_harness)
foreach(w gmm ba lstm det lse ode ode_adapt llsq mix recur)
  add_test(NAME test_wl_problem_${w} COMMAND test_wl_problems ${w})
  set_tests_properties(test_wl_problem_${w} PROPERTIES LABELS "workloads")
endforeach()
adlab_test(test_wl_defs SOURCES test_wl_defs.c LABELS workloads)
adlab_test(test_wl_ba SOURCES test_wl_ba.c LABELS workloads)
adlab_test(test_wl_mix SOURCES test_wl_mix.c LABELS workloads)

# wltime: the quick timing loop behind bench/workloads/README.md (gradient-to-primal ratios with the hand-written
# derivatives, the crossover table). A tool, not a test: timings are never asserted.
add_executable(wltime ${PROJECT_SOURCE_DIR}/bench/wltime.c)
target_link_libraries(wltime PRIVATE adlab_harness)
