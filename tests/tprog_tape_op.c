/* tprog_tape_op.c: the prog interpreter on the tape without preaccumulation (`tape_op`, tprog_tape.c). */
#define TAPE_PREACC 0
#define TPROG_TAPE_API tprog_tape_op
#define TPROG_TAPE_NAME "tape_op"
#include "tprog_tape.c"
