/* utf8.c - valid UTF-8 in JSON, invalid bytes as \udcXX; see utf8.h. */
#include <errno.h>
#include <stdint.h>

#include "utf8.h"

/* RFC 3629 section 4: the well-formed byte sequences. */
size_t fl_utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong), >= 0xf5 */
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int fl_utf8_json_write(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *run = p,
			    *end = p + n;
	size_t k;
	int ret = 0;

	while (p < end && ret == 0) {
		k = fl_utf8_seq(p, (size_t)(end - p));
		if (k) {
			p += k;
			continue;
		}
		if (fwrite(run, 1, (size_t)(p - run), f) != (size_t)(p - run) ||
		    fprintf(f, "\\udc%02x", *p) < 0)
			ret = -EIO;
		run = ++p;
	}
	if (ret == 0 && fwrite(run, 1, (size_t)(end - run), f) != (size_t)(end - run))
		ret = -EIO;
	return ret;
}
