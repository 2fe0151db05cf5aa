/* Superblock slots: parsing and checking one, and committing the next. */
#include "snapshot/internal.h"
#include <errno.h>
#include <string.h>

/* A slot whose magic is a few bit flips from ours is damaged, not blank. */
static bool magic_near(const char *m)
{
	unsigned diff = 0;
	for (unsigned i = 0; i < 8; i++)
		diff += __builtin_popcount((uint8_t)(m[i] ^ SB_MAGIC[i]));
	return diff <= 8;
}

static bool name_field_ok(const char *f, size_t len)
{
	size_t n = strnlen(f, len);
	if (n == len || !snap_name_valid(f))
		return false;
	return snap_all_zero(f + n, len - n);
}

static int entry_check(const struct superblock *sb, unsigned i, char *why, size_t n)
{
	const struct sb_entry *e = &sb->e[i];
	uint64_t area = sb->h.area_blocks;
	if (!name_field_ok(e->name, sizeof(e->name)))
		return snap_failn(why, n, -EBADMSG, "entry %u: bad name", i);
	for (unsigned j = 0; j < i; j++)
		if (!strcmp(sb->e[j].name, e->name))
			return snap_failn(why, n, -EBADMSG, "entries %u and %u have the same name",
					  j, i);
	uint64_t mblocks = (e->manifest_len + SNAP_BLOCK - 1) / SNAP_BLOCK;
	if (e->manifest_len < sizeof(struct mf_pre) || e->manifest_len > SNAP_MANIFEST_MAX)
		return snap_failn(why, n, -EBADMSG, "entry %u: manifest length %u out of range", i,
				  e->manifest_len);
	if (e->lo_block < DATA_START || e->lo_block > e->manifest_block ||
	    e->manifest_block > area || mblocks > area - e->manifest_block ||
	    e->manifest_block + mblocks > e->hi_block || e->hi_block > area)
		return snap_failn(why, n, -EBADMSG, "entry %u: blocks outside the area", i);
	if (e->generation == 0 || e->generation > sb->h.generation)
		return snap_failn(why, n, -EBADMSG,
				  "entry %u: generation newer than the superblock's", i);
	return 0;
}

int sb_parse(const void *blk, uint64_t dev_blocks, struct superblock *out, char *why, size_t n)
{
	memcpy(out, blk, sizeof(*out));
	if (memcmp(out->h.magic, SB_MAGIC, 8)) {
		if (!magic_near(out->h.magic))
			return snap_failn(why, n, -ENODATA, "never written (no superblock magic)");
		return snap_failn(why, n, -EBADMSG, "damaged magic");
	}
	if (snap_hash(out, SB_HASH_OFF) != out->hash)
		return snap_failn(why, n, -EBADMSG, "checksum mismatch (damaged, or a torn write)");
	const struct sb_head *h = &out->h;
	if (h->version != SNAP_FORMAT_VERSION)
		return snap_failn(why, n, -EBADMSG, "format version %u (this code reads %u)",
				  h->version, SNAP_FORMAT_VERSION);
	if (h->block_size != SNAP_BLOCK)
		return snap_failn(why, n, -EBADMSG, "block size %u (expected %u)", h->block_size,
				  SNAP_BLOCK);
	if (h->area_blocks <= DATA_START || h->area_blocks > dev_blocks)
		return snap_failn(why, n, -EBADMSG, "store of %llu blocks on a device of %llu",
				  (unsigned long long)h->area_blocks,
				  (unsigned long long)dev_blocks);
	if (h->nentries > SNAP_MAX_SNAPSHOTS)
		return snap_failn(why, n, -EBADMSG, "%u entries (at most %u)", h->nentries,
				  SNAP_MAX_SNAPSHOTS);
	for (unsigned i = 0; i < h->nentries; i++) {
		int err = entry_check(out, i, why, n);
		if (err)
			return err;
	}
	return 0;
}

void sb_seal(struct superblock *sb)
{
	memcpy(sb->h.magic, SB_MAGIC, 8);
	sb->h.version = SNAP_FORMAT_VERSION;
	sb->h.block_size = SNAP_BLOCK;
	memset(sb->pad, 0, sizeof(sb->pad));
	for (unsigned i = sb->h.nentries; i < SNAP_MAX_SNAPSHOTS; i++)
		memset(&sb->e[i], 0, sizeof(sb->e[i]));
	sb->hash = snap_hash(sb, SB_HASH_OFF);
}

int sb_find(const struct superblock *sb, const char *name)
{
	for (unsigned i = 0; i < sb->h.nentries; i++)
		if (!strncmp(sb->e[i].name, name, sizeof(sb->e[i].name)))
			return (int)i;
	return -ENOENT;
}

/*
 * The commit point: next (generation one above the state in use) goes
 * into the other slot with FUA, then a flush. Everything it references
 * must already be flushed. A failure leaves the disk in doubt (the write
 * may or may not have landed), so the store refuses further writes until
 * it is opened again and reads which slot won.
 */
int sb_commit(struct snap_store *s, const struct superblock *next)
{
	unsigned slot = s->slot ^ 1;
	struct superblock *b = snap_alloc_io(SNAP_BLOCK);
	if (!b)
		return snap_fail(s->err, -ENOMEM, "out of memory");
	memcpy(b, next, sizeof(*b));
	b->h.generation = s->sb.h.generation + 1;
	b->h.area_blocks = s->sb.h.area_blocks;
	b->h.store_id = s->sb.h.store_id;
	sb_seal(b);
	int err = snap_write_blocks(s, slot, 1, b, true);
	if (!err)
		err = snap_flush(s);
	if (err) {
		s->broken = true;
	} else {
		s->sb = *b;
		s->slot = slot;
		s->slot_state[slot] = SNAP_SLOT_OK;
		s->slot_gen[slot] = b->h.generation;
		s->slot_why[slot][0] = 0;
	}
	snap_free(b);
	return err;
}
