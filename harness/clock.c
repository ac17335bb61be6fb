/* clock.c - the run's time base; see clock.h. */
#include <time.h>

#include "clock.h"

static uint64_t start_ns;

uint64_t fl_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void fl_clock_start(void)
{
	start_ns = fl_clock_ns();
}

uint64_t fl_clock_start_ns(void)
{
	return start_ns;
}

uint64_t fl_clock_rel_ns(uint64_t abs_ns)
{
	return abs_ns > start_ns ? abs_ns - start_ns : 0;
}

uint64_t fl_clock_now_rel_ns(void)
{
	return fl_clock_rel_ns(fl_clock_ns());
}
