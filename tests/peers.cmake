# Peer AD tools (bench/peers/): each peer against adlab's engines and the manual gradients, one test per peer.
# A peer that is not built (ADLAB_PEERS off, or its packages missing) makes its test exit 77: skipped.
add_executable(test_peers test_peers.c)
target_include_directories(test_peers PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/bench)
target_link_libraries(test_peers PRIVATE adlab_harness)
foreach(peer adolc adolc_tl sacado_rad sacado_sfad ceres_jet torch torch_vec)
  add_test(NAME test_peer_${peer} COMMAND test_peers ${peer})
  set_tests_properties(test_peer_${peer} PROPERTIES LABELS "peers" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
