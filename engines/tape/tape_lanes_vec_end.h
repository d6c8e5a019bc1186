/* tape_lanes_vec_end.h: undefines what tape_lanes_vec.h defined, before it is included for the next lane count. */
#undef TL_CAT2
#undef TL_CAT
#undef TL_K
#undef TL_V
#undef TL_FN
#undef TL_FULL
#undef TL_W0
#undef TL_W
#undef TL_NV
#undef TL_N
#undef TL_LANE
