# The replayable tape and its guards (label: replay).
adlab_test(test_replay_ops SOURCES test_replay_ops.c LABELS unit replay LIBS adlab_replay)
adlab_test(test_replay_guards SOURCES test_replay_guards.c LABELS unit replay LIBS adlab_replay)
adlab_test(test_replay_workloads SOURCES test_replay_workloads.c LABELS agreement replay)
adlab_test(test_replay_alloc SOURCES test_replay_alloc.c LABELS unit replay LIBS adlab_replay)
adlab_test(test_replay_misuse SOURCES test_replay_misuse.c LABELS unit replay LIBS adlab_replay)
