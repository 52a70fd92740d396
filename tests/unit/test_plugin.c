/* plugin.c and the rule for optional entries of struct cv_transport: the
 * core calls one only when the table's size covers it and it is set, so
 * a plugin built against an older, smaller table keeps working. */
#include <check.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "plugin.h"

static int fake_reload(struct cv_instance *inst)
{
	(void)inst;
	return 0;
}

START_TEST(optional_entry_needs_size_and_pointer)
{
	struct cv_transport t = { .abi_version = CULVERT_TRANSPORT_ABI,
				  .size = sizeof(t), .reload = fake_reload };

	ck_assert(TRANSPORT_HAS(&t, reload));
	t.reload = NULL;
	ck_assert(!TRANSPORT_HAS(&t, reload));
	/* An older plugin's table ends before reload: whatever follows it
	 * in the plugin's memory is not a pointer to call. */
	t.reload = fake_reload;
	t.size = (uint32_t)offsetof(struct cv_transport, reload);
	ck_assert(!TRANSPORT_HAS(&t, reload));
	t.size = (uint32_t)(offsetof(struct cv_transport, reload) +
			    sizeof(t.reload) - 1);
	ck_assert(!TRANSPORT_HAS(&t, reload));
}
END_TEST

/* The shipped plugins' optional entries: tls and dtls reload their
 * credentials, udp has nothing to reload and leaves the entry NULL; each
 * says what it adds on the wire, which culvertctl diagnose reads instead
 * of a list of its own: udp and dtls datagrams (dtls's record header and
 * tag, at least), never fragmented, tls a TCP stream. */
START_TEST(shipped_plugins_optional_entries)
{
	const char *dir = getenv("CULVERT_PLUGIN_DIR");
	static const struct {
		const char *name;
		bool reload;
		int ipproto;
		uint32_t overhead, flags;
	} want[] = {
		{ "tls", true, IPPROTO_TCP, 2, CV_WIRE_AT_LEAST },
		{ "dtls", true, IPPROTO_UDP, 13 + 16,
		  CV_WIRE_AT_LEAST | CV_WIRE_DONT_FRAGMENT },
		{ "udp", false, IPPROTO_UDP, 0, CV_WIRE_DONT_FRAGMENT },
	};

	if (!dir)
		return;	/* run outside make check */
	ck_assert_int_eq(plugin_system_init(), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct plugin p;
		ck_assert_msg(plugin_load(dir, want[i].name, &p) == 0, "%s",
			      want[i].name);
		ck_assert_msg(TRANSPORT_HAS(p.transport, reload) == want[i].reload,
			      "%s", want[i].name);
		ck_assert_msg(TRANSPORT_HAS(p.transport, wire), "%s", want[i].name);
		const struct cv_wire *w = p.transport->wire;
		ck_assert_uint_eq(w->size, sizeof(struct cv_wire));
		ck_assert_int_eq(w->ipproto, want[i].ipproto);
		ck_assert_uint_eq(w->overhead, want[i].overhead);
		ck_assert_uint_eq(w->flags, want[i].flags);
		plugin_unload(&p);
	}
	plugin_system_exit();
}
END_TEST

static Suite *plugin_suite(void)
{
	Suite *s = suite_create("plugin");
	TCase *tc = tcase_create("optional entries");

	tcase_add_test(tc, optional_entry_needs_size_and_pointer);
	tcase_add_test(tc, shipped_plugins_optional_entries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(plugin_suite());

	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? 1 : 0;
}
