/* culvertctl reload: what SIGHUP does, with an answer. */
#include "ctl.h"

int ctl_reload(int argc, char *argv[])
{
	return argc == 1 ? ctl_request("reload") : CTL_USAGE;
}
