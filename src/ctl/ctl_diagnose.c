/* culvertctl diagnose: run on the gateway or on a client, check what
 * makes a tunnel fail around culvertd (forwarding, reverse-path
 * filtering, firewall, routes, MTU, the daemon itself; on a site's
 * router, the site's hosts too) and print each problem with the command
 * that fixes it. The checks themselves live in
 * netcheck.c and firewall.c; this file picks them for the mode and
 * prints. The transports' plugins are loaded only to read what each adds
 * on the wire (struct cv_wire), without an instance. */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "control_request.h"
#include "ctl.h"
#include "log.h"
#include "netcheck.h"
#include "proto.h"
#include "strbuf.h"

#ifdef HAVE_JANSSON
#include <jansson.h>
#endif

/* Every finding as a block: "problem:" and its "fix:" lines, "ok:", or
 * "note:" and the commands to run, indented. */
static void print_finding(enum netcheck_kind kind, const char *what,
			  const char *fix, void *arg)
{
	static const char *const label[] = {
		[NETCHECK_OK] = "ok", [NETCHECK_PROBLEM] = "problem",
		[NETCHECK_NOTE] = "note",
	};

	printf("%s: %s\n", label[kind], what);
	while (fix && *fix) {
		size_t len = strcspn(fix, "\n");
		printf("%s%.*s\n", kind == NETCHECK_PROBLEM ? "fix: " : "    ",
		       (int)len, fix);
		fix += len + (fix[len] == '\n');
	}
}

/* A client's session that is up: what its server routes to it (the
 * networks behind it, a site), and its inner IPv4 address. */
static struct cv_prefix site_networks[PROTO_MAX_NETWORKS];

#ifdef HAVE_JANSSON
static void read_site(struct netcheck *nc, json_t *session)
{
	json_t *nets = json_object_get(session, "networks"), *n;
	const char *inner = json_string_value(json_object_get(session, "inner"));
	size_t i;
	const char *why;

	if (inner)
		addr_parse(inner, &nc->inner4);
	nc->n_networks = 0;
	json_array_foreach(nets, i, n) {
		const char *text = json_string_value(n);
		if (text && nc->n_networks < PROTO_MAX_NETWORKS &&
		    prefix_parse(text, false, &site_networks[nc->n_networks],
				 &why) == 0)
			nc->n_networks++;
	}
	nc->networks = site_networks;
}
#endif

/* Its sessions, and how many of them are up, from the JSON form of the
 * status (the one for programs; the text is for people); on a client,
 * the networks behind it too. Returns -ENOTSUP without jansson, -EPROTO
 * when the answer is not that JSON. */
static int read_sessions(struct netcheck *nc, const char *json,
			 unsigned int *total, unsigned int *up)
{
#ifdef HAVE_JANSSON
	json_t *root = json ? json_loads(json, 0, NULL) : NULL;
	json_t *list = json_object_get(root, "sessions"), *s;
	size_t i;

	if (!json_is_array(list)) {
		json_decref(root);
		return -EPROTO;
	}
	*total = *up = 0;
	json_array_foreach(list, i, s) {
		const char *state = json_string_value(json_object_get(s, "state"));
		bool is_up = state && strcmp(state, "up") == 0;
		(*total)++;
		*up += is_up;
		if (is_up && nc->cfg->mode == MODE_CLIENT)
			read_site(nc, s);
	}
	json_decref(root);
	return 0;
#else
	return -ENOTSUP;
#endif
}

/* Whether culvertd answers; on a client, whether its tunnel is up.
 * Returns whether it runs. */
static bool check_daemon(struct netcheck *nc)
{
	const char *sock = ctl_socket_path();
	struct strbuf body = { 0 };
	char name[256], abs[PATH_MAX], fix[PATH_MAX + 600];
	int err = ctl_query("status --json", &body);

	/* culvertd@NAME.service runs SYSCONFDIR/culvert/NAME.conf. */
	control_instance_name(nc->cfg->path, name, sizeof(name));
	if (!realpath(nc->cfg->path, abs))
		snprintf(abs, sizeof(abs), "%s", nc->cfg->path);
	snprintf(fix, sizeof(fix), SYSCONFDIR "/culvert/%s.conf", name);
	bool unit = strcmp(fix, abs) == 0;
	if (unit)
		snprintf(fix, sizeof(fix), "systemctl start culvertd@%s", name);
	else
		snprintf(fix, sizeof(fix), "culvertd -c %s", abs);
	if (err == -ENOENT) {
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "culvertd is not running: its control socket %s does not exist",
			       sock);
		return false;
	}
	if (err == -ECONNREFUSED) {
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "culvertd is not running: nothing answers on its control socket %s (it stopped without removing it)",
			       sock);
		return false;
	}
	if (err == -EACCES || err == -EPERM) {
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "cannot talk to culvertd on %s: %s (run as root, or as a member of its group)",
			       sock, strerror(-err));
		return true;
	}
	if (err < 0) {
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "culvertd does not answer on %s: %s", sock,
			       strerror(-err));
		free(body.buf);
		return false;
	}
	unsigned int sessions, up;
	err = read_sessions(nc, body.buf, &sessions, &up);
	free(body.buf);
	bool hello = sessions > up;
	if (err < 0) {
		const char *why = err == -ENOTSUP
			? "culvertctl was built without jansson"
			: "its status is not the JSON expected (another version?)";
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "culvertd answers on %s; its sessions were not checked: %s",
			       sock, why);
	} else if (nc->cfg->mode == MODE_SERVER) {
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "culvertd answers on %s, %u session%s", sock,
			       sessions, sessions == 1 ? "" : "s");
	} else if (!sessions || hello) {
		if (unit)
			snprintf(fix, sizeof(fix),
				 "journalctl -u culvertd@%s -n 20   # its log says why",
				 name);
		else
			snprintf(fix, sizeof(fix),
				 "journalctl -t culvertd -n 20   # its log says why");
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "culvertd runs, but its tunnel to %s is not up: %s",
			       nc->cfg->remote,
			       hello ? "the handshake has not finished"
				     : "it has no session with the gateway");
	} else {
		nc->tunnel_up = true;
		netcheck_found(nc, NETCHECK_OK, NULL,
			       "culvertd answers on %s, its tunnel to %s is up",
			       sock, nc->cfg->remote);
	}
	return true;
}

static int only_tun(const struct nl_link *link, void *arg)
{
	struct nl_link *found = arg;

	if (strcmp(link->kind, "tun") != 0)
		return 0;
	if (found->ifindex) {
		found->ifindex = -1;	/* more than one */
		return 1;
	}
	*found = *link;
	return 0;
}

/* The TUN device: the config's device, or the only TUN device here. */
static void find_tun(struct netcheck *nc, bool running)
{
	const char *device = nc->cfg->device;
	struct nl_link link = { 0 };

	if (device) {
		if (nl_link_get(nc->nl, 0, device, &link) < 0) {
			netcheck_found(nc, NETCHECK_NOTE, NULL,
				       "%s does not exist%s: its checks were skipped",
				       device, running ? "" : " (culvertd is not running)");
			return;
		}
	} else {
		nl_link_dump(nc->nl, only_tun, &link);
		if (link.ifindex <= 0) {
			if (running)
				netcheck_found(nc, NETCHECK_NOTE, NULL,
					       "%s names no device, and there is %s TUN device here: set device = NAME to have it checked",
					       nc->cfg->path, link.ifindex ? "more than one" : "no");
			return;
		}
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "%s names no device: checking the only TUN device here, %s",
			       nc->cfg->path, link.name);
	}
	nc->tun = link;
	if (nc->tun.up)
		netcheck_found(nc, NETCHECK_OK, NULL, "%s is up, MTU %u",
			       nc->tun.name, nc->tun.mtu);
	else
		netcheck_found(nc, NETCHECK_NOTE, NULL, "%s is down",
			       nc->tun.name);
}

/* The gateway's outer address, from remote: a cluster's first gateway
 * (the others are reached the same way). */
static bool gateway_addr(struct netcheck *nc, struct cv_addr *out)
{
	char host[256], port[16], fix[400];
	const char *why, *remote = nc->cfg->n_remotes ? nc->cfg->remotes[0]
						       : nc->cfg->remote;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;

	if (!remote || endpoint_split(remote, host, sizeof(host), port,
				      sizeof(port), &why) < 0)
		return false;
	if (addr_parse(host, out) == 0)
		return true;
	int rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0) {
		snprintf(fix, sizeof(fix),
			 "getent hosts %s   # must print its address; else fix the resolver, or put the address in remote =",
			 host);
		netcheck_found(nc, NETCHECK_PROBLEM, fix,
			       "cannot resolve the gateway's name %s: %s", host,
			       gai_strerror(rc));
		return false;
	}
	memset(out, 0, sizeof(*out));
	out->family = (sa_family_t)ai->ai_family;
	if (ai->ai_family == AF_INET)
		out->v4 = ((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
	else
		out->v6 = ((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	freeaddrinfo(ai);
	return true;
}

static void diagnose_server(struct netcheck *nc)
{
	/* A bridge switches frames: nothing is routed or forwarded, and
	 * each client's MTU follows its own link. */
	if (nc->cfg->tap) {
		netcheck_tap_gateway(nc);
		netcheck_firewall(nc);
		return;
	}
	netcheck_forwarding(nc);
	netcheck_rp_filter(nc);
	netcheck_pushed_routes(nc);
	netcheck_route_conflicts(nc, NULL);
	netcheck_mtu(nc, nc->tun.ifindex ? nc->tun.mtu : nc->cfg->mtu, NULL);
	netcheck_firewall(nc);
}

static void diagnose_client(struct netcheck *nc, bool running)
{
	struct cv_addr gateway;
	bool have_gateway = gateway_addr(nc, &gateway);

	if (!nc->tun.ifindex)
		return;
	/* Its MTU is the gateway's to set, for frames of 18 bytes more. */
	if (nc->cfg->tap) {
		netcheck_tap_client(nc);
		return;
	}
	netcheck_site(nc);
	netcheck_rp_filter(nc);
	netcheck_route_conflicts(nc, have_gateway ? &gateway : NULL);
	if (have_gateway && nc->tun.up)
		netcheck_mtu(nc, nc->tun.mtu, &gateway);
	/* The daemon's status does not list the pushed routes yet: one the
	 * kernel refused is only in its log. */
	if (running)
		netcheck_found(nc, NETCHECK_NOTE, NULL,
			       "a pushed route that could not be installed is in culvertd's log ('exists already', 'cannot add route'), not checked here");
}

int ctl_diagnose(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "-c") == 0) {
		if (ctl_set_socket(NULL, argv[2]) < 0)
			return 1;
	} else if (argc != 1) {
		return CTL_USAGE;
	}
	const char *path = ctl_config_path();
	if (!path) {
		log_err("diagnose reads the daemon's config: give -c FILE");
		return 1;
	}
	struct config *cfg;
	if (config_load(path, &cfg) < 0)
		return 1;
	struct netcheck nc = { .cfg = cfg, .report = print_finding };
	int err = nl_open(&nc.nl);
	if (err < 0) {
		log_err("cannot open a netlink socket: %s", strerror(-err));
		config_free(cfg);
		return 1;
	}
	printf("culvertctl diagnose: %s %s\n",
	       cfg->mode == MODE_SERVER ? "gateway" : "client", path);
	netcheck_load_transports(&nc);
	bool running = check_daemon(&nc);
	find_tun(&nc, running);
	if (cfg->mode == MODE_SERVER)
		diagnose_server(&nc);
	else
		diagnose_client(&nc, running);
	if (nc.problems)
		printf("%u problem%s found\n", nc.problems,
		       nc.problems == 1 ? "" : "s");
	else
		printf("no problems found\n");
	netcheck_unload_transports(&nc);
	nl_close(nc.nl);
	config_free(cfg);
	return nc.problems ? 1 : 0;
}
