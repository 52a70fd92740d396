/* culvertctl status [--json] [--all], show [--json] NAME, metrics: what
 * the daemon tells about itself, its sessions and its counters. */
#include <stdbool.h>
#include <string.h>

#include "control_request.h"
#include "ctl.h"

int ctl_status(int argc, char *argv[])
{
	bool json = false, all = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else
			return CTL_USAGE;
	}
	return ctl_send(json  ? CONTROL_STATUS_JSON
			    : all ? CONTROL_STATUS_ALL
				  : CONTROL_STATUS,
			    NULL);
}

int ctl_show(int argc, char *argv[])
{
	if (argc == 2)
		return ctl_send(CONTROL_SHOW, argv[1]);
	if (argc == 3 && strcmp(argv[1], "--json") == 0)
		return ctl_send(CONTROL_SHOW_JSON, argv[2]);
	return CTL_USAGE;
}

int ctl_metrics(int argc, char *argv[])
{
	if (argc != 1)
		return CTL_USAGE;
	return ctl_send(CONTROL_METRICS, NULL);
}
