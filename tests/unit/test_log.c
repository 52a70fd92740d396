/* log.c and journal.c: when stderr is the journal, the "<N>" lines of
 * its stream, and the native entries with a session's fields. A real
 * journald reads them in tests/net/journal.sh. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"

/* stderr on a pipe; returns its read end. */
static int capture_stderr(int *saved)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	fflush(stderr);
	*saved = dup(STDERR_FILENO);
	ck_assert_int_eq(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	return p[0];
}

static void restore_stderr(int saved, int fd, char *buf, size_t size)
{
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void set_stream(int fd, long long ino_delta)
{
	struct stat st;
	char value[64];

	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(value, sizeof(value), "%llu:%llu",
		 (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
	setenv("JOURNAL_STREAM", value, 1);
}

START_TEST(stderr_is_the_journal)
{
	int saved, fd = capture_stderr(&saved);
	char buf[64];

	unsetenv("JOURNAL_STREAM");
	ck_assert(!log_stderr_is_journal());
	set_stream(STDERR_FILENO, 0);
	ck_assert(log_stderr_is_journal());
	/* Redirected by hand: another inode than systemd named. */
	set_stream(STDERR_FILENO, 1);
	ck_assert(!log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "8:12x", 1);
	ck_assert(!log_stderr_is_journal());
	setenv("JOURNAL_STREAM", "", 1);
	ck_assert(!log_stderr_is_journal());
	unsetenv("JOURNAL_STREAM");
	restore_stderr(saved, fd, buf, sizeof(buf));
}
END_TEST

/* The stream's own format: the priority, the text, no time or words. */
START_TEST(priority_prefixes)
{
	int saved, fd = capture_stderr(&saved);
	char buf[256];

	log_open("test_log", true, LOG_DEBUG);
	log_use_priority_prefixes(true);
	log_err("refused %s", "192.0.2.2:4433");
	log_warn("a warning");
	log_notice("a notice");
	log_debug("a debug line");
	log_use_priority_prefixes(false);
	restore_stderr(saved, fd, buf, sizeof(buf));
	ck_assert_str_eq(buf, "<3>refused 192.0.2.2:4433\n<4>a warning\n"
			      "<5>a notice\n<7>a debug line\n");
}
END_TEST

static const char *field(const struct iovec *iov, unsigned int n,
			 const char *name)
{
	static char out[256];
	size_t len = strlen(name);

	for (unsigned int i = 0; i < n; i++)
		if (iov[i].iov_len > len &&
		    memcmp(iov[i].iov_base, name, len) == 0 &&
		    ((char *)iov[i].iov_base)[len] == '=') {
			snprintf(out, sizeof(out), "%.*s",
				 (int)(iov[i].iov_len - len - 1),
				 (char *)iov[i].iov_base + len + 1);
			return out;
		}
	return NULL;
}

START_TEST(native_entries)
{
	struct iovec iov[JOURNAL_MAX_FIELDS];
	char buf[512];
	const struct log_fields f = { .session = "17", .user = "alice",
				      .peer = "192.0.2.2:40000",
				      .transport = "tls" };

	unsigned int n = journal_entry(LOG_NOTICE, &f, "session alice up",
				       "culvertd", iov, buf, sizeof(buf));
	ck_assert_uint_eq(n, 7);
	ck_assert_str_eq(field(iov, n, "MESSAGE"), "session alice up");
	ck_assert_str_eq(field(iov, n, "PRIORITY"), "5");
	ck_assert_str_eq(field(iov, n, "SYSLOG_IDENTIFIER"), "culvertd");
	ck_assert_str_eq(field(iov, n, "SESSION"), "17");
	ck_assert_str_eq(field(iov, n, "USER"), "alice");
	ck_assert_str_eq(field(iov, n, "PEER"), "192.0.2.2:40000");
	ck_assert_str_eq(field(iov, n, "TRANSPORT"), "tls");

	/* A line about no session, or a session without a user yet. */
	n = journal_entry(LOG_ERR, NULL, "no session", "culvertd", iov, buf,
			  sizeof(buf));
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(field(iov, n, "USER"));
	const struct log_fields anon = { .session = "3", .peer = "x" };
	n = journal_entry(LOG_INFO, &anon, "hello", "culvertd", iov, buf,
			  sizeof(buf));
	ck_assert_uint_eq(n, 5);
	ck_assert_ptr_null(field(iov, n, "USER"));
	ck_assert_str_eq(field(iov, n, "SESSION"), "3");

	/* No room: nothing rather than half an entry. */
	ck_assert_uint_eq(journal_entry(LOG_NOTICE, &f, "session alice up",
					"culvertd", iov, buf, 40), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("journal");

	tcase_add_test(tc, stderr_is_the_journal);
	tcase_add_test(tc, priority_prefixes);
	tcase_add_test(tc, native_entries);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
