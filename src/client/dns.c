/* Pushed DNS on the client: systemd-resolved through sd-bus, or the
 * hooks. See dns.h. */
#include "dns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-bus.h>
#endif

#include "hook.h"
#include "log.h"

#ifdef HAVE_SYSTEMD
/* Each call waits at most this long: it runs on the event loop, at the
 * start and end of a session only, and resolved answers in microseconds
 * when it is there at all. */
#define RESOLVED_TIMEOUT_USEC (2 * 1000 * 1000)

#define RESOLVED_NAME "org.freedesktop.resolve1"
#define RESOLVED_PATH "/org/freedesktop/resolve1"
#define RESOLVED_IFACE "org.freedesktop.resolve1.Manager"

static int call(sd_bus *bus, sd_bus_message *m, const char *what,
		const char **why)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	static char buf[256];
	int err = sd_bus_call(bus, m, RESOLVED_TIMEOUT_USEC, &error, NULL);

	if (err < 0) {
		snprintf(buf, sizeof(buf), "%s: %s", what,
			 error.message ? error.message : strerror(-err));
		*why = buf;
	}
	sd_bus_error_free(&error);
	return err;
}

static int new_call(sd_bus *bus, sd_bus_message **m, const char *method,
		    int ifindex)
{
	int err = sd_bus_message_new_method_call(bus, m, RESOLVED_NAME,
						 RESOLVED_PATH, RESOLVED_IFACE,
						 method);
	if (err >= 0)
		err = sd_bus_message_append(*m, "i", ifindex);
	return err;
}

/* SetLinkDNS(i ifindex, a(iay) addresses) */
static int set_servers(sd_bus *bus, const struct dns_state *dns,
		       const char **why)
{
	sd_bus_message *m = NULL;
	int err = new_call(bus, &m, "SetLinkDNS", dns->ifindex);

	if (err >= 0)
		err = sd_bus_message_open_container(m, 'a', "(iay)");
	for (unsigned int i = 0; err >= 0 && i < dns->n_servers; i++) {
		const struct cv_addr *a = &dns->servers[i];
		err = sd_bus_message_open_container(m, 'r', "iay");
		if (err >= 0)
			err = sd_bus_message_append(m, "i", (int)a->family);
		if (err >= 0)
			err = sd_bus_message_append_array(
				m, 'y', a->bytes, a->family == AF_INET ? 4 : 16);
		if (err >= 0)
			err = sd_bus_message_close_container(m);
	}
	if (err >= 0)
		err = sd_bus_message_close_container(m);
	if (err >= 0)
		err = call(bus, m, "SetLinkDNS", why);
	else
		*why = "cannot build SetLinkDNS";
	sd_bus_message_unref(m);
	return err;
}

/* SetLinkDomains(i ifindex, a(sb) domains): "~name" is routing-only. */
static int set_domains(sd_bus *bus, const struct dns_state *dns,
		       bool every_domain, const char **why)
{
	sd_bus_message *m = NULL;
	int err = new_call(bus, &m, "SetLinkDomains", dns->ifindex);

	if (err >= 0)
		err = sd_bus_message_open_container(m, 'a', "(sb)");
	for (unsigned int i = 0; err >= 0 && i < dns->n_domains; i++) {
		const char *d = dns->domains[i];
		err = sd_bus_message_append(m, "(sb)", d + (*d == '~'),
					    *d == '~');
	}
	/* A full tunnel's DNS answers every query, not only its domains. */
	if (err >= 0 && every_domain)
		err = sd_bus_message_append(m, "(sb)", ".", 1);
	if (err >= 0)
		err = sd_bus_message_close_container(m);
	if (err >= 0)
		err = call(bus, m, "SetLinkDomains", why);
	else
		*why = "cannot build SetLinkDomains";
	sd_bus_message_unref(m);
	return err;
}

static int revert(sd_bus *bus, int ifindex, const char **why)
{
	sd_bus_message *m = NULL;
	int err = new_call(bus, &m, "RevertLink", ifindex);

	if (err >= 0)
		err = call(bus, m, "RevertLink", why);
	sd_bus_message_unref(m);
	return err;
}

static bool resolved_apply(struct dns_state *dns, const char *ifname,
			   bool every_domain)
{
	sd_bus *bus = NULL;
	const char *why = NULL;
	int err = sd_bus_open_system(&bus);

	if (err < 0) {
		log_info("no system D-Bus (%s): DNS goes to up-script as CULVERT_DNS",
			 strerror(-err));
		return false;
	}
	err = set_servers(bus, dns, &why);
	if (err >= 0)
		err = set_domains(bus, dns, every_domain, &why);
	if (err < 0) {
		/* ServiceUnknown: resolved does not run; AccessDenied: not
		 * root, and polkit says no. Half-applied is worse than none. */
		log_info("systemd-resolved did not take the pushed DNS (%s): it goes to up-script as CULVERT_DNS",
			 why);
		revert(bus, dns->ifindex, &why);
	} else {
		log_info("DNS for %s handed to systemd-resolved", ifname);
	}
	sd_bus_flush_close_unref(bus);
	return err >= 0;
}

static void resolved_revert(const struct dns_state *dns)
{
	sd_bus *bus = NULL;
	const char *why = NULL;

	if (sd_bus_open_system(&bus) < 0)
		return;
	if (revert(bus, dns->ifindex, &why) < 0)
		log_warn("cannot take the DNS back from systemd-resolved: %s",
			 why);
	sd_bus_flush_close_unref(bus);
}
#else
static bool resolved_apply(struct dns_state *dns, const char *ifname,
			   bool every_domain)
{
	(void)dns, (void)ifname, (void)every_domain;
	log_info("built without libsystemd: DNS goes to up-script as CULVERT_DNS");
	return false;
}

static void resolved_revert(const struct dns_state *dns)
{
	(void)dns;
}
#endif

int dns_up(struct dns_state **out, const struct proto_welcome *w,
	   int ifindex, const char *ifname, bool every_domain)
{
	*out = NULL;
	if (!w->n_dns && !w->n_dns_domains)
		return 0;

	struct dns_state *dns = calloc(1, sizeof(*dns));
	if (!dns)
		return -ENOMEM;
	dns->ifindex = ifindex;
	dns->n_servers = w->n_dns;
	memcpy(dns->servers, w->dns, w->n_dns * sizeof(w->dns[0]));
	dns->n_domains = w->n_dns_domains;
	memcpy(dns->domains, w->dns_domains,
	       w->n_dns_domains * sizeof(w->dns_domains[0]));
	dns->via_resolved = resolved_apply(dns, ifname, every_domain);
	*out = dns;
	return 0;
}

void dns_down(struct dns_state *dns)
{
	if (!dns)
		return;
	if (dns->via_resolved)
		resolved_revert(dns);
	free(dns);
}

void dns_hook_env(const struct dns_state *dns, struct hook_env *env)
{
	char list[PROTO_MAX_DNS * (PROTO_MAX_TEXT + 1)], buf[ADDR_STRLEN];
	size_t used = 0;

	if (!dns || dns->via_resolved)
		return;
	for (unsigned int i = 0; i < dns->n_servers; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? " " : "",
					 addr_str(&dns->servers[i], buf));
	if (dns->n_servers)
		hook_env_add(env, "CULVERT_DNS", "%s", list);
	used = 0;
	for (unsigned int i = 0; i < dns->n_domains; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? " " : "", dns->domains[i]);
	if (dns->n_domains)
		hook_env_add(env, "CULVERT_DNS_DOMAIN", "%s", list);
}
