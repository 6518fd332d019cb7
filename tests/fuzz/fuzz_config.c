/* fuzz_config.c - the config file parser (config_parse). */
#include <string.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msglog *log = fuzz_log();
	dw_config c;
	config_defaults(&c);
	config_parse(&c, (const char *)data, size, "fuzz.conf", log);
	FUZZ_CHECK(memchr(c.theme, '\0', sizeof c.theme) != NULL);
	FUZZ_CHECK(memchr(c.columns, '\0', sizeof c.columns) != NULL);
	FUZZ_CHECK(c.capacity >= 1 && c.capacity <= CONFIG_MAX_CAPACITY);
	/* Values kept are what the user typed: no NUL inside, no line break. */
	FUZZ_CHECK(strchr(c.theme, '\n') == NULL && strchr(c.columns, '\n') == NULL);
	return 0;
}
