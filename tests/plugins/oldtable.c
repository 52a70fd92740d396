/* A transport plugin as one built against the first release of
 * <culvert/transport.h> looks to the core: its size ends the table with
 * destroy, before the optional entries appended since (reload, stats,
 * wire). Built against today's header, the fields after its size are
 * set to pointers that crash when used: the tests prove that culvertd
 * and culvertctl diagnose take the plugin without those entries, and
 * never read past its size. It carries nothing: create() refuses. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <culvert/transport.h>

static int old_create(const struct cv_host_api *api, struct cv_host *host,
		      struct cv_instance **out)
{
	api->log(host, CV_LOG_ERR, "oldtable is a test plugin: it carries nothing");
	return -ENOTSUP;
}

static int old_listen(struct cv_instance *inst)
{
	return -ENOTSUP;
}

static int old_connect(struct cv_instance *inst)
{
	return -ENOTSUP;
}

static int old_send(struct cv_instance *inst, struct cv_link *link,
		    const struct cv_msg *msgs, unsigned int count)
{
	return -ENOTSUP;
}

static void old_close(struct cv_instance *inst, struct cv_link *link)
{
}

static void old_destroy(struct cv_instance *inst)
{
}

/* Not a table: what happens to lie in memory after an older one. */
#define GARBAGE(type) ((type)(uintptr_t)0x10)

const struct cv_transport culvert_transport = {
	.abi_version = CULVERT_TRANSPORT_ABI,
	.size = offsetof(struct cv_transport, reload),
	.name = "oldtable",
	.description = "a plugin of the first release's table (test)",
	.flags = CV_TRANSPORT_RELIABLE,
	.options = NULL,
	.create = old_create,
	.listen = old_listen,
	.connect = old_connect,
	.send = old_send,
	.close = old_close,
	.destroy = old_destroy,
	.reload = GARBAGE(int (*)(struct cv_instance *)),
	.wire = GARBAGE(const struct cv_wire *),
};
