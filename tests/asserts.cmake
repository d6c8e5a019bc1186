# Asserts: registered where the configuration promises them (ADLAB_ASSERTS, on by default with the sanitizers);
# fails if the engines were compiled with NDEBUG. Label: unit.
if(ADLAB_ASSERTS)
  adlab_test(test_asserts SOURCES test_asserts.c LABELS unit)
endif()
