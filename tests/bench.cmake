# Benchmark harness: the Google Benchmark shim, an adbench smoke run, the report and compare scripts.
if(TARGET adlab_gb_shim)
  adlab_test(test_gb_shim SOURCES test_gb_shim.c LABELS unit LIBS adlab_gb_shim)
endif()
