/* fuzz_settings.c: libFuzzer target for settings.conf's parser, its round trip through the
 * formatter, and each kept value checked against the settings table as the engine does. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_config.h"
#include "settings_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct settings s, again;
	char err[256];
	if (settings_parse((const char *)data, size, &s, err, sizeof err) < 0)
		return 0;
	/* What parses formats to text that parses to the same pairs. */
	size_t len;
	char *text = settings_format(&s, &len);
	if (settings_parse(text, len, &again, err, sizeof err) < 0 || again.n != s.n)
		abort();
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.keys[i], again.keys[i]) != 0 || strcmp(s.values[i], again.values[i]) != 0)
			abort();
	free(text);
	/* Each line names a key the table lets a client change; its value either validates or
	 * says why not. */
	for (size_t i = 0; i < s.n; i++) {
		struct dp_config v;
		err[0] = '\0';
		if (!settings_key_allowed(s.keys[i]))
			abort();
		if (settings_value(s.keys[i], s.values[i], &v, err, sizeof err) < 0 && err[0] == '\0')
			abort();
		config_free(&v);
	}
	settings_clear(&again);
	settings_clear(&s);
	return 0;
}
