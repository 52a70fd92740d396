/* Password checks on worker threads, queued per source and served in
 * turn (auth_worker.h says why). */
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
#include "source_table.h"

enum job_state { JOB_WAITING, JOB_RUNNING, JOB_DONE };

struct job_list {
	struct auth_job *head, **tail;
};

/* One source's checks: those waiting, in order, and how many run. */
struct job_source {
	struct job_source *prev, *next;	/* the ring of sources, in turn */
	struct source_key key;
	struct job_list waiting;
	unsigned int n_waiting, n_running;
};

struct auth_job {
	struct auth_job *next;
	struct job_source *source;	/* until the check is done */
	char *user;
	char *password;
	enum auth_result result;
	enum job_state state;		/* under the lock */
	/* Set by the loop, read by the loop: a check already under way
	 * when its session ended still finishes, but nobody hears of it. */
	bool cancelled;
	auth_done_cb *done;
	void *arg;
};

struct auth_worker {
	struct loop *loop;
	int efd;		/* the workers wake the loop through it */
	unsigned int n_threads, n_started;
	pthread_t thread[AUTH_THREADS_MAX];

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct auth *auth;		/* under lock: a reload swaps it */
	bool stop;
	struct job_source *turn;	/* whose turn is next; NULL: none waits */
	unsigned int per_source;	/* threads one source may hold */
	struct job_list done;
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

/* Take job out of l, wherever it is. */
static void unlink_job(struct job_list *l, struct auth_job *job)
{
	struct auth_job **p = &l->head;

	while (*p && *p != job)
		p = &(*p)->next;
	if (!*p)
		return;
	*p = job->next;
	if (l->tail == &job->next)
		l->tail = p;
}

static void job_free(struct auth_job *job)
{
	if (job->password)
		explicit_bzero(job->password, strlen(job->password));
	free(job->password);
	free(job->user);
	free(job);
}

/* ---- sources, in their ring (under the lock) */

static struct job_source *find_source(struct auth_worker *w,
				      const struct source_key *k)
{
	struct job_source *s = w->turn;

	if (s)
		do {
			if (source_equal(&s->key, k))
				return s;
			s = s->next;
		} while (s != w->turn);
	return NULL;
}

static struct job_source *add_source(struct auth_worker *w,
				     const struct source_key *k)
{
	struct job_source *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->key = *k;
	s->waiting.tail = &s->waiting.head;
	if (!w->turn) {
		s->prev = s->next = s;
		w->turn = s;
	} else {	/* last in turn: just before whose turn is next */
		s->next = w->turn;
		s->prev = w->turn->prev;
		s->prev->next = s;
		w->turn->prev = s;
	}
	return s;
}

/* s lost a job: gone from the ring once it has none. */
static void source_idle(struct auth_worker *w, struct job_source *s)
{
	if (s->n_waiting || s->n_running)
		return;
	if (s->next == s) {
		w->turn = NULL;
	} else {
		s->prev->next = s->next;
		s->next->prev = s->prev;
		if (w->turn == s)
			w->turn = s->next;
	}
	free(s);
}

/* The next job to check: the first source in turn that has one waiting
 * and fewer than its share of the threads. */
static struct auth_job *next_job(struct auth_worker *w)
{
	struct job_source *s = w->turn;

	if (!s)
		return NULL;
	do {
		if (s->waiting.head && s->n_running < w->per_source) {
			struct auth_job *job = pop(&s->waiting);
			s->n_waiting--;
			s->n_running++;
			job->state = JOB_RUNNING;
			w->turn = s->next;
			return job;
		}
		s = s->next;
	} while (s != w->turn);
	return NULL;
}

/* ---- the threads */

static void *worker_main(void *arg)
{
	struct auth_worker *w = arg;
	struct auth_job *job;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->stop && !(job = next_job(w)))
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->stop)
			break;
		struct auth *auth = w->auth;
		pthread_mutex_unlock(&w->lock);
		job->result = auth_check(auth, job->user, job->password);
		explicit_bzero(job->password, strlen(job->password));
		pthread_mutex_lock(&w->lock);
		job->state = JOB_DONE;
		job->source->n_running--;
		source_idle(w, job->source);
		job->source = NULL;
		push(&w->done, job);
		uint64_t one = 1;
		if (write(w->efd, &one, sizeof(one)) < 0)
			log_err("auth worker: cannot wake the loop: %s",
				strerror(errno));
		/* The source's next job may run now, on any thread. */
		pthread_cond_broadcast(&w->wake);
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
		/* A callback may cancel later jobs of the list: it looks at
		 * each job only when its turn comes. */
		if (!job->cancelled)
			job->done(job->arg, job->result);
		job_free(job);
	}
}

static unsigned int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > AUTH_THREADS_MAX ? AUTH_THREADS_MAX : (unsigned int)n;
}

int auth_worker_new(struct loop *loop, struct auth *auth, unsigned int threads,
		    uint64_t *skipped, struct auth_worker **out)
{
	struct auth_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->loop = loop;
	w->auth = auth;
	w->skipped = skipped;
	w->n_threads = threads ? threads : online_cpus();
	if (w->n_threads > AUTH_THREADS_MAX)
		w->n_threads = AUTH_THREADS_MAX;
	w->done.tail = &w->done.head;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int err = w->efd < 0 ? -errno : loop_watch(loop, w->efd, EPOLLIN,
						    on_results, w);
	if (err < 0) {
		if (w->efd >= 0)
			close(w->efd);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return err;
	}
	*out = w;
	return 0;
}

unsigned int auth_worker_threads(const struct auth_worker *w)
{
	return w->n_started ? w->n_started : w->n_threads;
}

/* The threads, at the first job. Fewer than asked is fine; none is not. */
static bool start_threads(struct auth_worker *w)
{
	int err = 0;

	while (w->n_started < w->n_threads) {
		err = pthread_create(&w->thread[w->n_started], NULL,
				     worker_main, w);
		if (err)
			break;
		w->n_started++;
	}
	if (err && w->n_started)
		log_warn("started only %u of %u password checking threads: %s",
			 w->n_started, w->n_threads, strerror(err));
	else if (err)
		log_err("cannot start the password checker: %s", strerror(err));
	pthread_mutex_lock(&w->lock);
	w->per_source = w->n_started > 1 ? w->n_started / 2 : 1;
	pthread_mutex_unlock(&w->lock);
	return w->n_started > 0;
}

void auth_worker_free(struct auth_worker *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->wake);
	pthread_mutex_unlock(&w->lock);
	for (unsigned int i = 0; i < w->n_started; i++)
		pthread_join(w->thread[i], NULL);
	struct auth_job *job;
	while (w->turn) {
		struct job_source *s = w->turn;
		while ((job = pop(&s->waiting)))
			job_free(job);
		s->n_waiting = s->n_running = 0;
		source_idle(w, s);
	}
	while ((job = pop(&w->done)))
		job_free(job);
	loop_unwatch(w->loop, w->efd);
	close(w->efd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static struct auth_job *job_new(const char *user, const char *password,
				auth_done_cb *done, void *arg)
{
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
	return job;
}

struct auth_job *auth_worker_submit(struct auth_worker *w,
				    const struct source_key *source,
				    const char *user, const char *password,
				    auth_done_cb *done, void *arg)
{
	if (w->queued >= AUTH_QUEUE_MAX)
		return NULL;
	if (!w->n_started && !start_threads(w))
		return NULL;
	struct auth_job *job = job_new(user, password, done, arg);
	if (!job)
		return NULL;
	pthread_mutex_lock(&w->lock);
	struct job_source *s = find_source(w, source);
	if (!s)
		s = add_source(w, source);
	if (!s || s->n_waiting + s->n_running >= AUTH_SOURCE_QUEUE_MAX) {
		pthread_mutex_unlock(&w->lock);
		job_free(job);
		return NULL;
	}
	job->source = s;
	job->state = JOB_WAITING;
	push(&s->waiting, job);
	s->n_waiting++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	w->queued++;
	return job;
}

void auth_job_cancel(struct auth_worker *w, struct auth_job *job)
{
	pthread_mutex_lock(&w->lock);
	if (job->state != JOB_WAITING) {
		job->cancelled = true;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	/* Not begun: it never will, and costs no hashing. */
	unlink_job(&job->source->waiting, job);
	job->source->n_waiting--;
	source_idle(w, job->source);
	pthread_mutex_unlock(&w->lock);
	job_free(job);
	w->queued--;
	if (w->skipped)
		(*w->skipped)++;
}

void auth_worker_set_auth(struct auth_worker *w, struct auth *auth)
{
	pthread_mutex_lock(&w->lock);
	w->auth = auth;
	pthread_mutex_unlock(&w->lock);
}
