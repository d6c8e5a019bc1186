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
