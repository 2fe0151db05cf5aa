/* The store: formatting, opening, the directory of snapshots, deleting. */
#include "snapshot/internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int geometry(const struct snap_bdev *dev, uint32_t *spb, uint64_t *blocks, char *why,
		    size_t n)
{
	uint32_t ss = dev->sector_size;
	if (ss < 512 || ss > SNAP_BLOCK || SNAP_BLOCK % ss)
		return snap_failn(why, n, -EINVAL, "sector size %u is not 512..4096 dividing 4096",
				  ss);
	*spb = SNAP_BLOCK / ss;
	*blocks = dev->sectors / *spb;
	if (*blocks < DATA_START + 2)
		return snap_failn(why, n, -EINVAL, "device of %llu bytes is too small",
				  (unsigned long long)dev->sectors * ss);
	return 0;
}

int snap_format(struct snap_bdev *dev, uint64_t store_id, char *why, size_t whylen)
{
	struct snap_store s = {.dev = dev};
	int err = geometry(dev, &s.spb, &s.dev_blocks, why, whylen);
	if (err)
		return err;
	struct superblock *b = snap_alloc_io(SNAP_BLOCK);
	if (!b)
		return snap_failn(why, whylen, -ENOMEM, "out of memory");
	/* Slot 1 first: an older store's superblock there could outrank the new one. */
	err = snap_write_blocks(&s, 1, 1, b, false);
	if (!err)
		err = snap_flush(&s);
	if (!err) {
		b->h.generation = 1;
		b->h.area_blocks = s.dev_blocks;
		b->h.store_id = store_id;
		sb_seal(b);
		err = snap_write_blocks(&s, 0, 1, b, true);
	}
	if (!err)
		err = snap_flush(&s);
	snap_free(b);
	if (err)
		snap_failn(why, whylen, err, "%s", s.err);
	return err;
}

/* Takes the valid slot of the higher generation (slot 0 on a tie). */
static bool read_slots(struct snap_store *s, const uint8_t *blk)
{
	struct superblock sb[SB_SLOTS];
	int best = -1;
	for (unsigned i = 0; i < SB_SLOTS; i++) {
		int err = sb_parse(blk + i * SNAP_BLOCK, s->dev_blocks, &sb[i], s->slot_why[i],
				   sizeof(s->slot_why[i]));
		s->slot_state[i] = !err		     ? SNAP_SLOT_OK
				   : err == -ENODATA ? SNAP_SLOT_BLANK
						     : SNAP_SLOT_BAD;
		if (err)
			continue;
		s->slot_gen[i] = sb[i].h.generation;
		s->slot_why[i][0] = 0;
		if (best < 0 || sb[i].h.generation > sb[best].h.generation)
			best = (int)i;
	}
	if (best < 0)
		return false;
	s->sb = sb[best];
	s->slot = (unsigned)best;
	return true;
}

int snap_open(struct snap_bdev *dev, struct snap_store **out, char *why, size_t whylen)
{
	struct snap_store *s = calloc(1, sizeof(*s));
	uint8_t *blk = snap_alloc_io(SB_SLOTS * SNAP_BLOCK);
	int err = -ENOMEM;
	if (!s || !blk) {
		snap_failn(why, whylen, err, "out of memory");
		goto fail;
	}
	s->dev = dev;
	err = geometry(dev, &s->spb, &s->dev_blocks, why, whylen);
	if (err)
		goto fail;
	err = snap_read_blocks(s, 0, SB_SLOTS, blk);
	if (err) {
		snap_failn(why, whylen, err, "superblocks: %s", s->err);
		goto fail;
	}
	if (!read_slots(s, blk)) {
		bool blank =
		    s->slot_state[0] == SNAP_SLOT_BLANK && s->slot_state[1] == SNAP_SLOT_BLANK;
		err = blank ? -ENODATA : -EBADMSG;
		snap_failn(why, whylen, err, "%s: slot 0 %s; slot 1 %s",
			   blank ? "no snapshot store" : "no valid superblock", s->slot_why[0],
			   s->slot_why[1]);
		goto fail;
	}
	snap_free(blk);
	*out = s;
	return 0;
fail:
	snap_free(blk);
	free(s);
	return err;
}

void snap_close(struct snap_store *s)
{
	free(s);
}

const char *snap_error(const struct snap_store *s)
{
	return s->err;
}

unsigned snap_count(const struct snap_store *s)
{
	return s->sb.h.nentries;
}

static void info_of(const struct sb_entry *e, struct snap_info *out)
{
	snap_copy_name(out->name, sizeof(out->name), e->name, sizeof(e->name));
	out->generation = e->generation;
	out->nvcpus = e->nvcpus;
	out->ram_bytes = e->ram_bytes;
	out->disk_bytes = e->disk_bytes;
	out->created = e->created;
	out->manifest_block = e->manifest_block;
	out->manifest_len = e->manifest_len;
}

int snap_entry(const struct snap_store *s, unsigned i, struct snap_info *out)
{
	if (i >= s->sb.h.nentries)
		return -ENOENT;
	info_of(&s->sb.e[i], out);
	return 0;
}

int snap_lookup(const struct snap_store *s, const char *name, struct snap_info *out)
{
	int i = sb_find(&s->sb, name);
	if (i < 0)
		return i;
	info_of(&s->sb.e[i], out);
	return 0;
}

int snap_stat(struct snap_store *s, struct snap_store_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->store_id = s->sb.h.store_id;
	st->generation = s->sb.h.generation;
	st->slot = s->slot;
	for (unsigned i = 0; i < SB_SLOTS; i++) {
		st->slot_state[i] = s->slot_state[i];
		st->slot_gen[i] = s->slot_gen[i];
		memcpy(st->slot_why[i], s->slot_why[i], sizeof(st->slot_why[i]));
	}
	st->area_blocks = s->sb.h.area_blocks;
	st->count = s->sb.h.nentries;
	struct extents used = {0};
	int err = store_used(s, &used, &st->damaged);
	st->used_blocks = DATA_START + ext_total(&used);
	st->free_blocks = st->area_blocks - st->used_blocks;
	ext_free(&used);
	return err;
}

/* Removes entry i from a copy of the directory. */
static void drop_entry(struct superblock *sb, unsigned i)
{
	memmove(&sb->e[i], &sb->e[i + 1], (sb->h.nentries - i - 1) * sizeof(sb->e[0]));
	sb->h.nentries--;
}

int snap_delete(struct snap_store *s, const char *name)
{
	if (s->broken)
		return snap_fail(s->err, -EIO, "a commit failed: open the store again first");
	if (s->saving)
		return snap_fail(s->err, -EBUSY, "a save is in progress");
	int i = sb_find(&s->sb, name);
	if (i < 0)
		return snap_fail(s->err, -ENOENT, "no snapshot named \"%s\"", name);
	struct superblock *next = malloc(sizeof(*next));
	if (!next)
		return snap_fail(s->err, -ENOMEM, "out of memory");
	*next = s->sb;
	drop_entry(next, (unsigned)i);
	int err = sb_commit(s, next);
	free(next);
	return err;
}
