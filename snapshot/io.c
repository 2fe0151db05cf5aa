/* Whole-block I/O on the snapshot area, with errors in words. */
#include "snapshot/internal.h"
#include <errno.h>

int snap_read_blocks(struct snap_store *s, uint64_t block, uint64_t n, void *buf)
{
	if (block > s->dev_blocks || n > s->dev_blocks - block)
		return snap_fail(s->err, -EBADMSG, "blocks %llu+%llu lie past the device's %llu",
				 (unsigned long long)block, (unsigned long long)n,
				 (unsigned long long)s->dev_blocks);
	int err = s->dev->read(s->dev->ctx, block * s->spb, n * s->spb, buf);
	if (err)
		return snap_fail(s->err, err < 0 ? err : -EIO,
				 "read of blocks %llu+%llu failed (%d)", (unsigned long long)block,
				 (unsigned long long)n, err);
	return 0;
}

int snap_write_blocks(struct snap_store *s, uint64_t block, uint64_t n, const void *buf, bool fua)
{
	if (block > s->dev_blocks || n > s->dev_blocks - block)
		return snap_fail(s->err, -EINVAL, "write of blocks %llu+%llu past the device",
				 (unsigned long long)block, (unsigned long long)n);
	struct snap_bdev *d = s->dev;
	int err;
	if (fua && d->write_fua) {
		err = d->write_fua(d->ctx, block * s->spb, n * s->spb, buf);
	} else {
		err = d->write(d->ctx, block * s->spb, n * s->spb, buf);
		if (!err && fua)
			err = d->flush(d->ctx);
	}
	if (err)
		return snap_fail(s->err, err < 0 ? err : -EIO,
				 "write of blocks %llu+%llu failed (%d)", (unsigned long long)block,
				 (unsigned long long)n, err);
	return 0;
}

int snap_flush(struct snap_store *s)
{
	int err = s->dev->flush(s->dev->ctx);
	if (err)
		return snap_fail(s->err, err < 0 ? err : -EIO, "flush failed (%d)", err);
	return 0;
}
