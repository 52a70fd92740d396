/* culvertctl kick NAME: end that session now. Its client must connect and
 * authenticate again to come back. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

int ctl_kick(int argc, char *argv[])
{
	char request[512];

	if (argc != 2 || strchr(argv[1], '\n'))
		return CTL_USAGE;
	snprintf(request, sizeof(request), "kick %s", argv[1]);
	return ctl_request(request);
}
