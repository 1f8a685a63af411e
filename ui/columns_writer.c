/* columns_writer.c: the writer thread of columns_writer.h: started for a save when none runs,
 * it writes the newest text waiting until none is left, then ends. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "columns.h"
#include "columns_writer.h"

static pthread_mutex_t columns_writer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t columns_writer_idle = PTHREAD_COND_INITIALIZER;
static char *columns_writer_path, *columns_writer_text;  /* the newest waiting, NULL: none */
static bool columns_writer_running;
static bool columns_writer_bad;
static char columns_writer_err[512];

static void
columns_writer_store(char *path, char *text)
{
	char err[512];
	int rc = ui_columns_saved_store(path, text, err, sizeof err);
	free(path);
	free(text);
	if (rc == 0)
		return;
	pthread_mutex_lock(&columns_writer_lock);
	columns_writer_bad = true;
	snprintf(columns_writer_err, sizeof columns_writer_err, "%s", err);
	pthread_mutex_unlock(&columns_writer_lock);
}

static void *
columns_writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&columns_writer_lock);
	while (columns_writer_text != NULL) {
		char *path = columns_writer_path, *text = columns_writer_text;
		columns_writer_path = columns_writer_text = NULL;
		pthread_mutex_unlock(&columns_writer_lock);
		columns_writer_store(path, text);
		pthread_mutex_lock(&columns_writer_lock);
	}
	columns_writer_running = false;
	pthread_cond_broadcast(&columns_writer_idle);
	pthread_mutex_unlock(&columns_writer_lock);
	return NULL;
}

void
ui_columns_writer_save(const char *path, const char *text)
{
	pthread_mutex_lock(&columns_writer_lock);
	free(columns_writer_path);
	free(columns_writer_text);
	columns_writer_path = xstrdup(path);
	columns_writer_text = xstrdup(text);
	if (!columns_writer_running) {
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&t, &attr, columns_writer_main, NULL);
		pthread_attr_destroy(&attr);
		if (rc == 0) {
			columns_writer_running = true;
		} else {
			/* no thread to be had: written here, as before there was one */
			char *p = columns_writer_path, *x = columns_writer_text;
			columns_writer_path = columns_writer_text = NULL;
			pthread_mutex_unlock(&columns_writer_lock);
			columns_writer_store(p, x);
			return;
		}
	}
	pthread_mutex_unlock(&columns_writer_lock);
}

bool
ui_columns_writer_failed(char *err, size_t errlen)
{
	pthread_mutex_lock(&columns_writer_lock);
	bool bad = columns_writer_bad;
	if (bad)
		snprintf(err, errlen, "%s", columns_writer_err);
	columns_writer_bad = false;
	pthread_mutex_unlock(&columns_writer_lock);
	return bad;
}

bool
ui_columns_writer_flush(unsigned timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&columns_writer_lock);
	while (columns_writer_running &&
	    pthread_cond_timedwait(&columns_writer_idle, &columns_writer_lock, &until) != ETIMEDOUT)
		;
	bool done = !columns_writer_running;
	pthread_mutex_unlock(&columns_writer_lock);
	return done;
}
