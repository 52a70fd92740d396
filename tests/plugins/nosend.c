/* A transport plugin that leaves a required callback (send) unset: the
 * test proves culvertd refuses it and names the callback. */
#include <errno.h>

#include <culvert/transport.h>

static int ns_create(const struct cv_host_api *api, struct cv_host *host,
		     struct cv_instance **out)
{
	return -ENOTSUP;
}

static int ns_listen(struct cv_instance *inst)
{
	return -ENOTSUP;
}

static void ns_close(struct cv_instance *inst, struct cv_link *link)
{
}

static void ns_destroy(struct cv_instance *inst)
{
}

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = sizeof(struct cv_transport),
	.name = "nosend",
	.description = "a plugin without send() (test)",
	.create = ns_create,
	.listen = ns_listen,
	.connect = ns_listen,
	.close = ns_close,
	.destroy = ns_destroy,
};
