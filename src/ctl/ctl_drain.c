/* culvertctl drain and undrain: a gateway of a cluster out of service
 * for maintenance, its clients moved to the others, and back. */
#include "ctl.h"

int ctl_drain(int argc, char *argv[])
{
	return argc == 1 ? ctl_request("drain") : CTL_USAGE;
}

int ctl_undrain(int argc, char *argv[])
{
	return argc == 1 ? ctl_request("undrain") : CTL_USAGE;
}
