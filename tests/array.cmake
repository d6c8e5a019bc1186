# Arrays (engines/ad_array.h): every array op on the tape against the scalar tape and finite differences, shapes,
# broadcasting, bad input, allocation failure and the SIMD kernels (test_array); every tensor-form workload against
# its scalar twin on every engine (test_array_twins).
adlab_test(test_array SOURCES test_array.c LABELS unit)
adlab_test(test_array_dual SOURCES test_array_dual.c LABELS unit)
adlab_test(test_array_twins SOURCES test_array_twins.c LABELS agreement)
