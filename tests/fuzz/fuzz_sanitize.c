/* fuzz_sanitize.c - the terminal sanitiser on arbitrary bytes: every mode,
 * clipped output, and column fitting (sanitize.h). */
#define _XOPEN_SOURCE 700 /* setlocale categories with wcwidth() */

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		/* san_width() follows the locale, as in the viewer. */
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			setlocale(LC_CTYPE, "");
		init = 1;
	}
	const char *s = (const char *)data;
	fuzz_check_string(s, size);

	size_t need = san_text(NULL, 0, s, size, SAN_SCREEN);
	char *out = malloc(need + 1);
	FUZZ_CHECK(out != NULL);
	san_text(out, need + 1, s, size, SAN_SCREEN);
	size_t width = san_width(out, need);
	for (size_t cols = 0; cols <= width + 1; cols += 1 + cols / 2) {
		size_t w = 0;
		size_t n = san_fit(out, need, cols, &w);
		FUZZ_CHECK(n <= need && w <= cols);
		FUZZ_CHECK(san_width(out, n) == w);
		fuzz_check_clean(out, n);
		if (cols >= width)
			FUZZ_CHECK(n == need);
	}
	free(out);
	return 0;
}
