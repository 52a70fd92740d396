/* culvertctl kick NAME: end that session now. Its client must connect and
 * authenticate again to come back. */
#include <errno.h>

#include "control_request.h"
#include "ctl.h"
#include "log.h"

int ctl_kick(int argc, char *argv[])
{
	char request[CONTROL_REQUEST_MAX];

	if (argc != 2)
		return CTL_USAGE;
	int n = control_request_format(CONTROL_KICK, argv[1], request,
				       sizeof(request));
	if (n == -EINVAL)
		return CTL_USAGE;	/* empty, or a control character */
	if (n < 0) {
		log_err("kick: a session name is at most %d bytes",
			CONTROL_REQUEST_MAX - 7);
		return 1;
	}
	request[n - 1] = '\0';	/* ctl_request adds the newline */
	return ctl_request(request);
}
