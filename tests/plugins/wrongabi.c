/* A transport plugin built for a transport ABI that culvertd does not
 * speak: the test proves culvertd refuses it and names both versions. */
#include <culvert/transport.h>

static int no_create(const struct cv_host_api *api, struct cv_host *host,
		     struct cv_instance **out)
{
	return -1;
}

const struct cv_transport culvert_transport = {
	.abi_version = 999,
	.size = sizeof(struct cv_transport),
	.name = "wrongabi",
	.description = "a plugin from the future",
	.create = no_create,
};
