# The graph engine (engines/graph): PyTorch's autograd semantics, memory and allocation failure, agreement with the
# other engines through eng_api, and the seed example with its DOT file.
adlab_test(test_graph_semantics SOURCES test_graph_semantics.c LABELS unit graph)
adlab_test(test_graph_memory SOURCES test_graph_memory.c LABELS unit graph)
adlab_test(test_graph_engine SOURCES test_graph_engine.c LABELS agreement graph)
adlab_test(test_graph_dot SOURCES test_graph_dot.c LABELS unit graph
           ARGS $<TARGET_FILE:graph_seed_example> ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(test_graph_dot PROPERTIES SKIP_RETURN_CODE 77)
