/* Saving and checking synthetic snapshots (tools/snap/synth.c) in tests. */
#ifndef TESTS_HOST_SNAP_UTIL_H
#define TESTS_HOST_SNAP_UTIL_H

#include "tools/snap/snaptool.h"

/* cfg's state and RAM (ranges equal ranges 1 MiB apart) as name. */
int save_synth(struct snap_store *s, const char *name, const struct synth *cfg, unsigned ranges,
	       bool replace, struct snap_save_stats *st);
/* Whether name holds exactly cfg's state and RAM, every checksum good
 * (every chunk is read, as snap_verify would);
 * why says what differs. */
bool synth_matches(struct snap_store *s, const char *name, const struct synth *cfg, unsigned ranges,
		   char *why, size_t n);
/* Opens the store on d (asserting success). */
struct snap_store *open_store(struct memdev *d);

#endif
