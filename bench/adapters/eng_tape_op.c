/* eng_tape_op.c: the `tape_op` engine: the tape without preaccumulation, one statement per op (eng_tape.c). */
#define TAPE_PREACC 0
#define ENG_TAPE_API eng_tape_op
#define ENG_TAPE_NAME "tape_op"
#include "eng_tape.c"
