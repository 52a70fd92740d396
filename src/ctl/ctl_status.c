/* culvertctl status [--json]: the daemon's sessions and counters. */
#include <string.h>

#include "ctl.h"

int ctl_status(int argc, char *argv[])
{
	if (argc == 1)
		return ctl_request("status");
	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		return ctl_request("status --json");
	return CTL_USAGE;
}
