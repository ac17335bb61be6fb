/*
 * utf8.h - valid UTF-8 in every JSON text faultline writes.  A byte string
 * from outside (the target's argv, the driver command, a path) may hold
 * bytes that are not UTF-8; JSON must be UTF-8 (RFC 8259 section 8.1), and
 * json-c copies such bytes raw.  The convention, reversible: each byte that
 * is not part of a valid UTF-8 sequence (a stray continuation byte, a
 * truncated or overlong sequence, a surrogate, a code point past U+10FFFF)
 * is written as the JSON escape \udcXX, U+DC80 + the byte: Python's
 * "surrogateescape" (PEP 383), so s.encode('utf-8', 'surrogateescape') gives
 * the exact bytes back.  Valid UTF-8 never encodes U+DC80..U+DCFF, so the
 * escape cannot be confused with a character that was written.  No state;
 * reentrant.
 */
#ifndef FL_UTF8_H
#define FL_UTF8_H

#include <stddef.h>
#include <stdio.h>

/* Length (1..4) of the valid UTF-8 sequence at s[0..n), or 0 when s[0]
 * does not begin one (n == 0 included). */
size_t fl_utf8_seq(const unsigned char *s, size_t n);

/* Writes the JSON text s[0..n) to f with every byte outside valid UTF-8 as
 * \udcXX.  For text whose non-ASCII bytes are all inside JSON strings (as
 * json-c writes it), so the escape lands in a string.  Returns 0 or -EIO. */
int fl_utf8_json_write(FILE *f, const char *s, size_t n);

#endif
