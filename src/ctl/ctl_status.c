/* culvertctl status [--json] [--all] [--page N|all] [--page-size N],
 * show [--json] NAME, metrics: what the daemon tells about itself, its
 * sessions and its counters. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "control_request.h"
#include "ctl.h"

/* --page and --page-size go to the daemon as they are: it checks them
 * (control_request.c), so both ends agree on one rule. */
int ctl_status(int argc, char *argv[])
{
	bool json = false, all = false;
	const char *page = NULL, *size = NULL;
	char request[CONTROL_REQUEST_MAX];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--page") == 0 && i + 1 < argc && !page)
			page = argv[++i];
		else if (strcmp(argv[i], "--page-size") == 0 && i + 1 < argc && !size)
			size = argv[++i];
		else
			return CTL_USAGE;
	}
	if ((page && (strlen(page) > 16 || strchr(page, ' '))) ||
	    (size && (strlen(size) > 16 || strchr(size, ' '))))
		return CTL_USAGE;
	snprintf(request, sizeof(request), "status%s%s%s%s%s",
		 json ? " --json" : all ? " --all" : "",
		 page ? " --page " : "", page ? page : "",
		 size ? " --page-size " : "", size ? size : "");
	return ctl_request(request);
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
