/* culvertctl kick NAME: end that session now. Its client must connect and
 * authenticate again to come back. */
#include "control_request.h"
#include "ctl.h"

int ctl_kick(int argc, char *argv[])
{
	if (argc != 2)
		return CTL_USAGE;
	return ctl_send(CONTROL_KICK, argv[1]);
}
