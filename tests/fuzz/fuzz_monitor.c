/* fuzz_monitor.c: libFuzzer target for the monitor's command interpreter (monitor_run_command)
 * against a real engine: each input line is a command as a client would send it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "fuzz_engine.h"
#include "monitor_server.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct engine *eng;
static char fuzz_dir[] = "/tmp/dp-fuzz-monitor.XXXXXX";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (eng == NULL)
		eng = fuzz_engine_start(fuzz_dir, &base);
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		/* The server reads lines of MONITOR_MAX_LINE bytes at most, without the NUL. */
		if (n <= MONITOR_MAX_LINE && memchr(p, '\0', n) == NULL) {
			char *line = xmalloc(n + 1);
			memcpy(line, p, n);
			line[n] = '\0';
			struct dp_buf out;
			dp_buf_init(&out);
			int rc = monitor_run_command(eng, line, &out);
			/* A failure is one line of reason; an answer is text. */
			if (rc != 0 && rc != -1)
				abort();
			if (rc < 0 && (out.len == 0 || memchr(out.data, '\n', out.len) != NULL))
				abort();
			dp_buf_free(&out);
			free(line);
		}
		p += n + (nl != NULL ? 1 : 0);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
