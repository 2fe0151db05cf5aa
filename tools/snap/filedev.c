/* A disk image file as the snapshot area's block device. */
#define _GNU_SOURCE
#include "tools/snap/snaptool.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SECTOR 512u

static int rw(struct filedev *f, bool write, uint64_t sector, uint64_t count, void *buf)
{
	uint64_t off = sector * SECTOR, len = count * SECTOR;
	while (len) {
		ssize_t n = write ? pwrite(f->fd, buf, len, (off_t)off)
				  : pread(f->fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		buf = (char *)buf + n;
	}
	return 0;
}

static int f_read(void *ctx, uint64_t sector, uint64_t count, void *buf)
{
	struct filedev *f = ctx;
	f->reads++;
	return rw(f, false, sector, count, buf);
}

static int f_write(void *ctx, uint64_t sector, uint64_t count, const void *buf)
{
	struct filedev *f = ctx;
	f->writes++;
	return rw(f, true, sector, count, (void *)buf);
}

static int f_flush(void *ctx)
{
	struct filedev *f = ctx;
	f->flushes++;
	return fdatasync(f->fd) ? -errno : 0;
}

static int f_write_fua(void *ctx, uint64_t sector, uint64_t count, const void *buf)
{
	return f_write(ctx, sector, count, buf) ?: f_flush(ctx);
}

int filedev_open(struct filedev *f, const char *path, bool writable)
{
	memset(f, 0, sizeof(*f));
	f->fd = open(path, writable ? O_RDWR : O_RDONLY);
	if (f->fd < 0) {
		fprintf(stderr, "snaptool: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	struct stat st;
	if (fstat(f->fd, &st)) {
		close(f->fd);
		return -errno;
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(f->fd, 0, SEEK_END);
		size = end > 0 ? (uint64_t)end : 0;
	}
	f->bdev =
	    (struct snap_bdev){SECTOR, size / SECTOR, f_read, f_write, f_write_fua, f_flush, f};
	return 0;
}

void filedev_close(struct filedev *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

struct snap_store *store_open(struct filedev *f, const char *path, bool writable)
{
	if (filedev_open(f, path, writable))
		return NULL;
	struct snap_store *s;
	char why[256];
	int err = snap_open(&f->bdev, &s, why, sizeof(why));
	if (err) {
		fprintf(stderr, "snaptool: %s: %s\n", path, why);
		filedev_close(f);
		return NULL;
	}
	return s;
}

double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void print_size(FILE *o, uint64_t b)
{
	if (b < 10240)
		fprintf(o, "%llu B", (unsigned long long)b);
	else if (b < (10ull << 20))
		fprintf(o, "%.1f KiB", (double)b / 1024);
	else if (b < (10ull << 30))
		fprintf(o, "%.1f MiB", (double)b / (1 << 20));
	else
		fprintf(o, "%.1f GiB", (double)b / (1 << 30));
}
