/*
 * caps.h - capabilities by name, for --keep-cap and for the report's
 * denials: one table of the names capabilities(7) gives (linux/
 * capability.h's numbers), which of them faultline refuses to keep for
 * the target and why, and the parse of a --keep-cap list.  No system
 * calls; single-threaded (the table is constant).
 */
#ifndef FL_CAPS_H
#define FL_CAPS_H

#include <stddef.h>
#include <stdint.h>

/* The highest capability number the table knows (CAP_CHECKPOINT_RESTORE). */
#define FL_CAP_MAX 40

/* "CAP_SETUID" for 7, or NULL for a number the table does not know. */
const char *fl_cap_name(unsigned cap);

/* Why faultline never lets the target keep cap (a sentence), or NULL
 * when it may. */
const char *fl_cap_refused(unsigned cap);

/*
 * Adds the capabilities of a --keep-cap list ("setuid,CAP_SETGID",
 * names case-insensitive, with or without "CAP_", separated by commas)
 * to *mask (1ULL << CAP_x).  Returns 0, -EINVAL for an unknown or empty
 * name, or -EPERM for one faultline refuses; err then says which and,
 * for an unknown one, lists the valid names.
 */
int fl_caps_parse(const char *list, uint64_t *mask, char *err, size_t errlen);

/* "CAP_SETUID,CAP_SETGID" (ascending), "" for 0, into buf. */
void fl_caps_format(uint64_t mask, char *buf, size_t n);

#endif
