# Elementary functions: every choice of ADLAB_ELEMFN (engines/CMakeLists.txt) compiled and tested in every build,
# each with its own build of engines/ad_math.c (cheap: one file), whatever the build's own choice. That all
# engines stay bit-identical under a choice is adcheck's value check, run on the build's own choice.
foreach(_choice sleef_u10 sleef_u35 libm)
  string(TOUPPER "AD_ELEMFN_${_choice}" _def)
  add_library(adlab_math_${_choice} STATIC ${PROJECT_SOURCE_DIR}/engines/ad_math.c)
  target_compile_definitions(adlab_math_${_choice} PRIVATE ${_def})
  target_include_directories(adlab_math_${_choice} PUBLIC ${PROJECT_SOURCE_DIR}/engines)
  target_link_libraries(adlab_math_${_choice} PUBLIC PkgConfig::SLEEF m)
  add_executable(test_elemfn_${_choice} test_elemfn.c)
  target_compile_definitions(test_elemfn_${_choice} PRIVATE EXPECT_CHOICE="${_choice}")
  target_include_directories(test_elemfn_${_choice} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(test_elemfn_${_choice} PRIVATE adlab_math_${_choice})
  add_test(NAME test_elemfn_${_choice} COMMAND test_elemfn_${_choice})
  set_tests_properties(test_elemfn_${_choice} PROPERTIES LABELS "unit")
endforeach()

# elemfn (bench/elemfn.c) runs and prints its table: one row per function, one column per choice.
add_test(NAME elemfn_smoke COMMAND elemfn --min-time 0.0005)
set_tests_properties(elemfn_smoke PROPERTIES LABELS "bench-smoke"
                     PASS_REGULAR_EXPRESSION "\\| pow \\| [0-9.]+ \\[[0-9.e+]+\\] \\| [0-9.]+ \\[[0-9.e+]+\\] \\| [0-9.]+ \\[0\\] \\|")
