#include "auth_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

/* Logins waiting at once; past this a login is refused as "busy", which a
 * client retries, rather than queueing minutes of hashing. */
#define QUEUE_MAX 256

struct auth_job {
	struct auth_job *next;
	char *user;
	char *password;
	enum auth_result result;
	/* Set by the loop, read by the worker: both under the lock. A job
	 * cancelled before its turn is not hashed, so that a client that
	 * sends its password and hangs up costs no hashing. */
	bool cancelled;
	bool checked;		/* the worker hashed it */
	auth_done_cb *done;
	void *arg;
};

struct job_list {
	struct auth_job *head, **tail;
};

struct auth_worker {
	struct loop *loop;
	struct auth *auth;
	int efd;		/* the worker wakes the loop through it */
	bool started;
	pthread_t thread;

	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	struct job_list todo, done;	/* under lock */
	unsigned int queued;		/* loop thread: submitted, not back */
	uint64_t *skipped;		/* loop thread: cancelled, not hashed */
};

static void push(struct job_list *l, struct auth_job *job)
{
	job->next = NULL;
	*l->tail = job;
	l->tail = &job->next;
}

static struct auth_job *pop(struct job_list *l)
{
	struct auth_job *job = l->head;

	if (job) {
		l->head = job->next;
		if (!l->head)
			l->tail = &l->head;
	}
	return job;
}

static void job_free(struct auth_job *job)
{
	if (job->password)
		explicit_bzero(job->password, strlen(job->password));
	free(job->password);
	free(job->user);
	free(job);
}

static void *worker_main(void *arg)
{
	struct auth_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !w->todo.head)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		struct auth_job *job = pop(&w->todo);
		if (!job->cancelled) {
			struct auth *auth = w->auth;	/* a reload may swap it */
			pthread_mutex_unlock(&w->lock);
			job->result = auth_check(auth, job->user, job->password);
			job->checked = true;
			pthread_mutex_lock(&w->lock);
		}
		explicit_bzero(job->password, strlen(job->password));
		push(&w->done, job);
		uint64_t one = 1;
		if (write(w->efd, &one, sizeof(one)) < 0)
			log_err("auth worker: cannot wake the loop: %s",
				strerror(errno));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void on_results(void *arg, int fd, uint32_t events)
{
	struct auth_worker *w = arg;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("auth worker: %s", strerror(errno));
	pthread_mutex_lock(&w->lock);
	struct job_list done = w->done;
	if (!done.head)
		done.tail = &done.head;
	w->done.head = NULL;
	w->done.tail = &w->done.head;
	pthread_mutex_unlock(&w->lock);

	struct auth_job *job;
	while ((job = pop(&done))) {
		w->queued--;
		if (!job->checked && w->skipped)
			(*w->skipped)++;
		/* A callback may cancel later jobs of the list: it looks at
		 * each job only when its turn comes. */
		if (!job->cancelled)
			job->done(job->arg, job->result);
		job_free(job);
	}
}

int auth_worker_new(struct loop *loop, struct auth *auth, uint64_t *skipped,
		    struct auth_worker **out)
{
	struct auth_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->auth = auth;
	w->skipped = skipped;
	w->todo.tail = &w->todo.head;
	w->done.tail = &w->done.head;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int err = w->efd < 0 ? -errno : loop_watch(loop, w->efd, EPOLLIN,
						    on_results, w);
	if (err < 0) {
		if (w->efd >= 0)
			close(w->efd);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

static void free_list(struct job_list *l)
{
	struct auth_job *job;

	while ((job = pop(l)))
		job_free(job);
}

void auth_worker_free(struct auth_worker *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL);
	}
	free_list(&w->todo);
	free_list(&w->done);
	loop_unwatch(w->loop, w->efd);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

struct auth_job *auth_worker_submit(struct auth_worker *w, const char *user,
				    const char *password, auth_done_cb *done,
				    void *arg)
{
	if (w->queued >= QUEUE_MAX)
		return NULL;
	if (!w->started) {
		int err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			log_err("cannot start the password checker: %s",
				strerror(err));
			return NULL;
		}
		w->started = true;
	}
	struct auth_job *job = calloc(1, sizeof(*job));
	if (!job)
		return NULL;
	job->user = strdup(user);
	job->password = strdup(password);
	job->done = done;
	job->arg = arg;
	if (!job->user || !job->password) {
		job_free(job);
		return NULL;
	}
	pthread_mutex_lock(&w->lock);
	push(&w->todo, job);
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	w->queued++;
	return job;
}

void auth_job_cancel(struct auth_worker *w, struct auth_job *job)
{
	pthread_mutex_lock(&w->lock);
	job->cancelled = true;
	pthread_mutex_unlock(&w->lock);
}

void auth_worker_set_auth(struct auth_worker *w, struct auth *auth)
{
	pthread_mutex_lock(&w->lock);
	w->auth = auth;
	pthread_mutex_unlock(&w->lock);
}
