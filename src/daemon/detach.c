#include "detach.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* The parent: the child's word, or its end. */
static _Noreturn void wait_for_child(int fd, pid_t child)
{
	char ready;
	ssize_t n;
	int status;

	signal(SIGINT, SIG_IGN);
	do
		n = read(fd, &ready, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	/* The pipe closed without a word: the child is ending; its log
	 * said why. Its status is ours. */
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			_exit(1);
	_exit(WIFEXITED(status)     ? WEXITSTATUS(status)
	      : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
				    : 1);
}

int detach_start(void)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0) {
		int err = -errno;
		log_err("cannot detach: %s", strerror(errno));
		return err;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		log_err("cannot detach: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid > 0) {
		close(p[1]);
		wait_for_child(p[0], pid);
	}
	close(p[0]);
	return p[1];
}

void detach_done(int fd)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	setsid();
	if (chdir("/") < 0)
		log_warn("cannot change to /: %s", strerror(errno));
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	while (write(fd, "", 1) < 0 && errno == EINTR)
		;
	close(fd);
}
