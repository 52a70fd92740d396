/* culvertctl status [--json] [--all], show [--json] NAME, metrics: what
 * the daemon tells about itself, its sessions and its counters. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "control_request.h"
#include "ctl.h"
#include "log.h"

/* Send op (with name) as the daemon reads it. */
static int send_request(enum control_op op, const char *name)
{
	char request[CONTROL_REQUEST_MAX];
	int n = control_request_format(op, name, request, sizeof(request));

	if (n == -EINVAL)
		return CTL_USAGE;	/* empty, or a control character */
	if (n < 0) {
		log_err("a session name is at most %d bytes",
			CONTROL_REQUEST_MAX - 12);
		return 1;
	}
	request[n - 1] = '\0';	/* ctl_request adds the newline */
	return ctl_request(request);
}

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
	return send_request(json  ? CONTROL_STATUS_JSON
			    : all ? CONTROL_STATUS_ALL
				  : CONTROL_STATUS,
			    NULL);
}

int ctl_show(int argc, char *argv[])
{
	if (argc == 2)
		return send_request(CONTROL_SHOW, argv[1]);
	if (argc == 3 && strcmp(argv[1], "--json") == 0)
		return send_request(CONTROL_SHOW_JSON, argv[2]);
	return CTL_USAGE;
}

int ctl_metrics(int argc, char *argv[])
{
	if (argc != 1)
		return CTL_USAGE;
	return send_request(CONTROL_METRICS, NULL);
}
