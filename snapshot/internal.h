/* What the files of snapshot/ share; not an API. */
#ifndef SNAPSHOT_INTERNAL_H
#define SNAPSHOT_INTERNAL_H

#include "snapshot/snapshot.h"
#include <stdarg.h>

#define SB_MAGIC     "TSNAPSB1"
#define MF_MAGIC     "TSNAPMF1"
#define SB_SLOTS     2u
#define DATA_START   2u /* first block after the superblock slots */
#define SB_HASH_OFF  4088u
#define SNAP_ERR_LEN 224u
#define MAX_VCPUS    1024u
#define MAX_SPIS     988u /* INTIDs 32..1019 */

/* Superblock, one 4096-byte block per slot. */
struct sb_entry {
	char name[48];
	uint64_t manifest_block;
	uint32_t manifest_len;
	uint32_t flags;
	uint64_t manifest_hash;
	uint64_t generation;
	uint64_t lo_block, hi_block; /* every block it uses lies in [lo, hi) */
	uint64_t ram_bytes;
	uint64_t disk_bytes;
	uint64_t created;
	uint32_t nvcpus;
	uint32_t reserved;
};
struct sb_head {
	char magic[8];
	uint32_t version;
	uint32_t block_size;
	uint64_t generation;
	uint64_t area_blocks;
	uint64_t store_id;
	uint32_t nentries;
	uint32_t flags;
	uint64_t reserved[2];
};
struct superblock {
	struct sb_head h;
	struct sb_entry e[SNAP_MAX_SNAPSHOTS];
	uint8_t pad[SB_HASH_OFF - sizeof(struct sb_head) -
		    SNAP_MAX_SNAPSHOTS * sizeof(struct sb_entry)];
	uint64_t hash;
};
_Static_assert(sizeof(struct sb_entry) == 128, "sb_entry");
_Static_assert(sizeof(struct sb_head) == 64, "sb_head");
_Static_assert(sizeof(struct superblock) == SNAP_BLOCK, "superblock");

/* Manifest: this preamble, then records, each a header, its body and zero
 * padding to 8 bytes. */
struct mf_pre {
	char magic[8];
	uint32_t version;
	uint32_t flags;
	uint64_t length; /* of the whole manifest */
	uint64_t store_id;
};
struct rec_head {
	uint32_t type;
	uint16_t version, flags;
	uint32_t len;
	uint32_t reserved;
	uint64_t hash; /* XXH64 of the body */
};
_Static_assert(sizeof(struct mf_pre) == 32, "mf_pre");
_Static_assert(sizeof(struct rec_head) == 24, "rec_head");

/* Sorted, merged block extents. */
struct extent {
	uint64_t start, len;
};
struct extents {
	struct extent *e;
	size_t n, cap;
};

struct snap_store {
	struct snap_bdev *dev;
	uint32_t spb; /* sectors per block */
	uint64_t dev_blocks;
	struct superblock sb; /* the state in use */
	unsigned slot;	      /* the slot sb came from */
	int slot_state[SB_SLOTS];
	uint64_t slot_gen[SB_SLOTS];
	char slot_why[SB_SLOTS][96];
	bool saving;
	bool broken; /* a commit failed: reopen to learn which slot won */
	char err[SNAP_ERR_LEN];
};

struct snap_image {
	struct snap_store *s;
	uint8_t *mf; /* the manifest */
	uint32_t mf_len;
	struct snap_header hdr;
	unsigned nrec;
	struct snap_rec *rec;
	struct snap_idreg *fp;
	uint32_t nfp;
	struct snap_vcpu *vcpu;
	struct snap_vcpu_sve *sve; /* per vCPU; vl 0: none */
	const uint8_t **sve_state;
	bool has_vgic, has_timer;
	struct snap_vgic vgic;
	struct snap_vgic_irq *vgic_spi;
	struct snap_vgic_cpu *vgic_cpu;
	struct snap_timer timer;
	struct snap_timer_cpu *timer_cpu;
	unsigned ndev;
	struct snap_device *dev;
	const struct snap_rec **dev_rec;
	struct snap_range *range;
	uint32_t nrange;
	struct snap_chunk *chunk;
	uint32_t nchunk;
	struct extents used; /* the blocks it occupies */
};

/* A save in progress (save.c, save_rec.c, commit.c). */
struct snap_save {
	struct snap_store *s;
	struct snap_header hdr;
	int replaces;  /* directory index of the snapshot it supersedes, or -1 */
	uint8_t *recs; /* the caller's records, framed as in the manifest */
	size_t recs_len, recs_cap;
	struct snap_range *range;
	uint32_t nrange;
	struct snap_chunk *chunk;
	bool *placed;
	uint32_t nchunk;
	struct extents used; /* the state in use, and this save's blocks */
	struct extents base; /* the state in use when it began: what may be reused */
	bool used_read;	     /* used and base read from the manifests (need_used) */
	uint32_t reused;     /* chunks placed by snap_save_reuse */
	uint64_t cursor, lo, hi, blocks;
	bool failed; /* a chunk was placed but not written */
	int level;
	struct snap_encoder *enc; /* snap_save_ram's */
	uint8_t *buf;
};

/* util.c */
uint64_t snap_hash(const void *p, size_t n);
/* Writes a message into buf (n bytes) and returns code. */
int snap_failn(char *buf, size_t n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define snap_fail(err, code, ...) snap_failn(err, SNAP_ERR_LEN, code, __VA_ARGS__)
void *snap_alloc_io(size_t bytes);  /* 4096-aligned, zeroed */
void *snap_alloc_buf(size_t bytes); /* 4096-aligned, as it comes */
void snap_free(void *p);
bool snap_all_zero(const void *p, size_t n);
void snap_copy_name(char *dst, size_t dstlen, const char *src, size_t srclen);
int ext_add(struct extents *x, uint64_t start, uint64_t len);		/* -EEXIST on overlap */
bool ext_covers(const struct extents *x, uint64_t start, uint64_t len); /* all inside one */
int ext_copy(struct extents *dst, const struct extents *src);
int ext_union(struct extents *x, uint64_t start, uint64_t len); /* overlap allowed */
int ext_find(const struct extents *x, uint64_t lo, uint64_t hi, uint64_t from, uint64_t len,
	     uint64_t *start); /* a free run in [lo, hi), searching from `from`, wrapping */
uint64_t ext_total(const struct extents *x);
void ext_free(struct extents *x);

/* io.c: whole blocks of the area */
int snap_read_blocks(struct snap_store *s, uint64_t block, uint64_t n, void *buf);
int snap_write_blocks(struct snap_store *s, uint64_t block, uint64_t n, const void *buf, bool fua);
int snap_flush(struct snap_store *s);

/* super.c */
int sb_parse(const void *blk, uint64_t dev_blocks, struct superblock *out, char *why, size_t n);
void sb_seal(struct superblock *sb);
int sb_commit(struct snap_store *s, const struct superblock *next);
int sb_find(const struct superblock *sb, const char *name);

/* manifest.c: parses and checks a manifest into m (m->mf, mf_len set) */
int mf_parse(struct snap_image *m, uint64_t area_blocks, uint64_t store_id, char *err);
void mf_free(struct snap_image *m);

/* records.c: the version this code knows of a type (0: an unknown type),
 * and whether a body of that version has its shape (why says not). */
uint16_t rec_known_version(uint32_t type);
int rec_check(uint32_t type, uint16_t version, const void *body, uint32_t len, uint32_t nvcpus,
	      char *why, size_t n);

/* codec.c */
int chunk_check_desc(const struct snap_chunk *c, char *why, size_t n);

/* save.c, save_rec.c, commit.c */
uint64_t save_area(const struct snap_save *w);
int save_alloc(struct snap_save *w, uint64_t n, uint64_t *start);
void save_free(struct snap_save *w);
size_t rec_framed_len(uint32_t len);

/* load.c */
int img_load_entry(struct snap_store *s, const struct sb_entry *e, struct snap_image **out);
int store_used(struct snap_store *s, struct extents *used, unsigned *damaged);

#endif
