/*
 * The process's own resources as the standard process_* metrics that
 * Prometheus's client libraries export, read from /proc/self: CPU time,
 * memory, start time, open files and their limit. A value /proc will not
 * tell (after the privilege drop /proc/self/fd may be closed to us) is
 * left out rather than made up.
 */
#include "metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The fields of /proc/self/stat after the command's ")" (proc(5)). */
struct proc_stat {
	unsigned long utime, stime;		/* clock ticks */
	unsigned long long starttime;		/* ticks after boot */
	unsigned long vsize;			/* bytes */
	long rss;				/* pages */
};

static int read_stat(struct proc_stat *st)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads
	 * itrealvalue starttime vsize rss */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu %*d %*d %*d %*d %*d %*d %llu %lu %ld",
			 &st->utime, &st->stime, &st->starttime, &st->vsize,
			 &st->rss) != 5)
		return -1;
	return 0;
}

/* The boot time, in seconds since the Epoch (btime in /proc/stat). */
static long long boot_time(void)
{
	char line[256];
	long long btime = -1;
	FILE *f = fopen("/proc/stat", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &btime) == 1)
			break;
	if (f)
		fclose(f);
	return btime;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* One gauge or counter, named prefix + name. */
static void one(struct strbuf *out, const char *prefix, const char *name,
		const char *type, const char *help, double value)
{
	char full[64];

	snprintf(full, sizeof(full), "%s%s", prefix, name);
	metrics_family(out, full, type, help);
	metrics_sample(out, full, "", value);
}

void process_metrics(const char *prefix, struct strbuf *out)
{
	struct proc_stat st;
	double hz = (double)sysconf(_SC_CLK_TCK);
	long long btime = boot_time();
	long fds = open_fds();
	struct rlimit rl;

	if (read_stat(&st) == 0 && hz > 0) {
		one(out, prefix, "cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds.",
		    (double)(st.utime + st.stime) / hz);
		one(out, prefix, "virtual_memory_bytes", "gauge",
		    "Virtual memory size in bytes.", (double)st.vsize);
		one(out, prefix, "resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.",
		    (double)st.rss * (double)sysconf(_SC_PAGESIZE));
		if (btime > 0)
			one(out, prefix, "start_time_seconds", "gauge",
			    "Start time of the process since unix epoch in seconds.",
			    (double)btime + (double)st.starttime / hz);
	}
	if (fds >= 0)
		one(out, prefix, "open_fds", "gauge",
		    "Number of open file descriptors.", (double)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		one(out, prefix, "max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (double)rl.rlim_cur);
}
