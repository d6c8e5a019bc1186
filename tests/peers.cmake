# Peer AD tools (bench/peers/): each peer against adlab's engines and the manual gradients, one test per peer.
# A peer that is not built (ADLAB_PEERS off, or its packages missing) makes its test exit 77: skipped; in CI
# (CI=true) or with ADLAB_REQUIRE_PEERS=1 in the environment it fails instead. A name not in this list fails.
set(ADLAB_PEER_NAMES adolc adolc_tl sacado_rad sacado_sfad ceres_jet torch torch_vec)
add_executable(test_peers test_peers.c)
target_include_directories(test_peers PRIVATE ${CMAKE_CURRENT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/bench)
target_link_libraries(test_peers PRIVATE adlab_harness)
list(JOIN ADLAB_PEER_NAMES " " _names)
target_compile_definitions(test_peers PRIVATE ADLAB_PEER_NAMES="${_names}")
foreach(peer ${ADLAB_PEER_NAMES})
  add_test(NAME test_peer_${peer} COMMAND test_peers ${peer})
  set_tests_properties(test_peer_${peer} PROPERTIES LABELS "peers" SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
# The test's own refusals, each must exit 1 (not 77, skipped): a misspelt peer name, an adlab engine's name, and,
# where no peer is built, a peer required by ADLAB_REQUIRE_PEERS=1.
function(adlab_peer_refusal name env)
  add_test(NAME ${name} COMMAND sh -c "env ${env} \"$0\" \"$1\"; rc=$?; echo \"exit status $rc\"; [ $rc -eq 1 ]"
                                      $<TARGET_FILE:test_peers> ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS "peers")
endfunction()
adlab_peer_refusal(test_peers_unknown_name "-u CI -u ADLAB_REQUIRE_PEERS" adolcc)
adlab_peer_refusal(test_peers_own_engine_name "-u CI -u ADLAB_REQUIRE_PEERS" tape)
if(NOT ADLAB_PEERS)
  adlab_peer_refusal(test_peers_required "-u CI ADLAB_REQUIRE_PEERS=1" adolc)
endif()
