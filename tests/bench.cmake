# Benchmark harness: the Google Benchmark shim, an adbench smoke run, the report and compare scripts.
if(TARGET adlab_gb_shim)
  adlab_test(test_gb_shim SOURCES test_gb_shim.c LABELS unit LIBS adlab_gb_shim)
endif()

find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  if(TARGET adbench)
    add_test(NAME test_adbench_smoke
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_adbench_smoke.py
                     $<TARGET_FILE:adbench> ${PROJECT_SOURCE_DIR}/scripts/report)
    set_tests_properties(test_adbench_smoke PROPERTIES LABELS "bench-smoke")
  endif()
  add_test(NAME test_report COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_report.py
                                    ${PROJECT_SOURCE_DIR}/scripts/report)
  add_test(NAME test_compare COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_compare.py
                                     ${PROJECT_SOURCE_DIR}/scripts/compare)
  add_test(NAME test_main COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_main.py
                                  ${PROJECT_SOURCE_DIR}/scripts/main)
  add_test(NAME test_results COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/test_results.py
                                     ${PROJECT_SOURCE_DIR}/scripts)
  set_tests_properties(test_report test_compare test_main test_results PROPERTIES LABELS "unit;scripts")
endif()

# The benchmark plan (sizes, grid, skip decisions made once), interleaved ratios and the report's context.
adlab_test(test_plan SOURCES test_plan.c LABELS unit)
