/* fuzz_config.c: libFuzzer target for the configuration loader: any text either loads and
 * validates, or fails with a message; what loads prints back to text that loads the same, and
 * copies key by key (settings_table.c) into an equal configuration. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp_config.h"
#include "settings_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5 leaks scanner buffers (strings, names) when a syntax error follows them; those
 * are libconfig's (fixed in later releases), not ours. */
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

static char *
fuzz_print(const struct dp_config *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		abort();
	config_print(f, c, true);
	if (fclose(f) != 0)
		abort();
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_config c, again;
	char err[512];
	/* @include would read other files: not part of what is fuzzed. */
	if (size > 65536 || memmem(data, size, "@include", 8) != NULL)
		return 0;
	char *text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (config_load_string(text, "fuzz.conf", &c, err, sizeof err) != 0) {
		if (err[0] == '\0')
			abort();    /* every failure explains itself */
		config_free(&c);
		free(text);
		return 0;
	}
	/* The engine's live settings are such copies; every key must come across. */
	struct dp_config copy;
	config_copy(&copy, &c);
	for (size_t i = 0; i < settings_table_count; i++)
		if (!config_value_equal(&c, &copy, &settings_table[i]))
			abort();
	config_free(&copy);
	char *printed = fuzz_print(&c);
	if (config_load_string(printed, "printed", &again, err, sizeof err) != 0)
		abort();
	free(again.source);
	again.source = xstrdup(c.source);
	char *printed2 = fuzz_print(&again);
	if (strcmp(printed, printed2) != 0)
		abort();
	free(printed);
	free(printed2);
	config_free(&again);
	config_free(&c);
	free(text);
	return 0;
}
