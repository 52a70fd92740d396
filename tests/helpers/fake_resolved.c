/*
 * A stand-in for systemd-resolved's D-Bus API, for tests/net/dns_resolved.sh:
 * it owns org.freedesktop.resolve1 on the bus that DBUS_SYSTEM_BUS_ADDRESS
 * names, answers SetLinkDNS, SetLinkDomains and RevertLink, and prints each
 * call with its arguments, one line each, on stdout. It exits after
 * argv[1] seconds (default 60), so it never outlives a test.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <systemd/sd-bus.h>

static int set_link_dns(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	int32_t ifindex, family;
	const void *bytes;
	size_t n;
	char buf[INET6_ADDRSTRLEN];
	int r = sd_bus_message_read(m, "i", &ifindex);

	if (r < 0 || (r = sd_bus_message_enter_container(m, 'a', "(iay)")) < 0)
		return r;
	printf("SetLinkDNS %d", ifindex);
	while ((r = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
		if ((r = sd_bus_message_read(m, "i", &family)) < 0 ||
		    (r = sd_bus_message_read_array(m, 'y', &bytes, &n)) < 0)
			return r;
		if ((n == 4 && family == AF_INET) || (n == 16 && family == AF_INET6))
			printf(" %s", inet_ntop(family, bytes, buf, sizeof(buf)));
		else
			printf(" bad(family %d, %zu bytes)", family, n);
		sd_bus_message_exit_container(m);
	}
	printf("\n");
	fflush(stdout);
	return sd_bus_reply_method_return(m, NULL);
}

static int set_link_domains(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	int32_t ifindex;
	const char *name;
	int routing_only;
	int r = sd_bus_message_read(m, "i", &ifindex);

	if (r < 0 || (r = sd_bus_message_enter_container(m, 'a', "(sb)")) < 0)
		return r;
	printf("SetLinkDomains %d", ifindex);
	while ((r = sd_bus_message_read(m, "(sb)", &name, &routing_only)) > 0)
		printf(" %s:%d", name, routing_only);
	printf("\n");
	fflush(stdout);
	return sd_bus_reply_method_return(m, NULL);
}

static int revert_link(sd_bus_message *m, void *arg, sd_bus_error *error)
{
	int32_t ifindex;
	int r = sd_bus_message_read(m, "i", &ifindex);

	if (r < 0)
		return r;
	printf("RevertLink %d\n", ifindex);
	fflush(stdout);
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable manager[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("SetLinkDNS", "ia(iay)", "", set_link_dns, 0),
	SD_BUS_METHOD("SetLinkDomains", "ia(sb)", "", set_link_domains, 0),
	SD_BUS_METHOD("RevertLink", "i", "", revert_link, 0),
	SD_BUS_VTABLE_END,
};

int main(int argc, char **argv)
{
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 60);
	sd_bus *bus = NULL;
	int r;

	if ((r = sd_bus_open_system(&bus)) < 0 ||
	    (r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/resolve1",
					  "org.freedesktop.resolve1.Manager",
					  manager, NULL)) < 0 ||
	    (r = sd_bus_request_name(bus, "org.freedesktop.resolve1", 0)) < 0) {
		fprintf(stderr, "fake_resolved: cannot start: %d\n", r);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (time(NULL) < end) {
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			break;
		if (r == 0)
			sd_bus_wait(bus, 500 * 1000);
	}
	sd_bus_flush_close_unref(bus);
	return 0;
}
