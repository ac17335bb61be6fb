/*
 * verdict.c - the verdicts' table (verdict.h).  Constant data.
 */
#include "verdict.h"

const struct fl_verdict_desc fl_verdicts[FL_V_COUNT] = {
#define FL_VERDICT_DESC(id, text, f) [FL_V_##id] = {.name = text, .fate = f},
	FL_VERDICT_LIST(FL_VERDICT_DESC)
#undef FL_VERDICT_DESC
};
