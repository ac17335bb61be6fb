/*
 * api_helper_main.c - faultline-run, libfaultline's helper: the process
 * a faultline_run() execs to do the run (api_helper.c, in the library).
 * Single-threaded.
 */
#include "api.h"

int main(int argc, char **argv)
{
	return faultline__helper_main(argc, argv);
}
