/*
 * What newlib needs from its host: locks (malloc is shared by all CPUs),
 * abort/assert routed to panic, and the syscalls stdio references but
 * tessera never uses (they fail cleanly).
 */
#include "lib/lock.h"
#include "lib/panic.h"
#include <errno.h>
#include <sys/lock.h>
#include <sys/stat.h>

/* One recursive lock serves every newlib lock: newlib takes them rarely
 * (malloc, stdio setup), and a single owner cannot deadlock against itself. */
static struct spinlock libc_lock;
static volatile uintptr_t libc_owner; /* the owner's TPIDR_EL2 (its per-CPU data) */
static unsigned libc_depth;
struct __lock {
	int unused;
};
struct __lock __lock___malloc_recursive_mutex, __lock___sinit_recursive_mutex,
    __lock___sfp_recursive_mutex, __lock___atexit_recursive_mutex, __lock___at_quick_exit_mutex,
    __lock___env_recursive_mutex, __lock___tz_mutex, __lock___dd_hash_mutex,
    __lock___arc4random_mutex;

static uintptr_t me(void)
{
#if defined(__aarch64__) && !defined(TESSERA_HOST)
	uintptr_t t;
	__asm__ volatile("mrs %0, tpidr_el2" : "=r"(t));
	return t | 1; /* never 0, "no owner", even before TPIDR_EL2 is set */
#else
	return 1;
#endif
}

void __retarget_lock_acquire_recursive(_LOCK_T l)
{
	if (libc_owner == me()) {
		libc_depth++;
		return;
	}
	spin_lock(&libc_lock);
	libc_owner = me();
	libc_depth = 1;
}

void __retarget_lock_release_recursive(_LOCK_T l)
{
	if (--libc_depth == 0) {
		libc_owner = 0;
		spin_unlock(&libc_lock);
	}
}

void __retarget_lock_acquire(_LOCK_T l)
{
	__retarget_lock_acquire_recursive(l);
}
void __retarget_lock_release(_LOCK_T l)
{
	__retarget_lock_release_recursive(l);
}
int __retarget_lock_try_acquire_recursive(_LOCK_T l)
{
	__retarget_lock_acquire_recursive(l);
	return 1;
}
int __retarget_lock_try_acquire(_LOCK_T l)
{
	return __retarget_lock_try_acquire_recursive(l);
}
void __retarget_lock_init(_LOCK_T *l)
{
}
void __retarget_lock_init_recursive(_LOCK_T *l)
{
}
void __retarget_lock_close(_LOCK_T l)
{
}
void __retarget_lock_close_recursive(_LOCK_T l)
{
}

void abort(void)
{
	panic("abort() called");
}

void __assert_func(const char *file, int line, const char *fn, const char *expr)
{
	panic("assertion '%s' failed in %s at %s:%d", expr, fn, file, line);
}

/* stdio's syscalls: unused by tessera, present so the library links. */
int _write(int fd, const void *buf, size_t n)
{
	errno = ENOSYS;
	return -1;
}
int _read(int fd, void *buf, size_t n)
{
	errno = ENOSYS;
	return -1;
}
int _close(int fd)
{
	errno = ENOSYS;
	return -1;
}
long _lseek(int fd, long off, int whence)
{
	errno = ENOSYS;
	return -1;
}
int _fstat(int fd, struct stat *st)
{
	errno = ENOSYS;
	return -1;
}
int _isatty(int fd)
{
	return 0;
}
int _kill(int pid, int sig)
{
	errno = ENOSYS;
	return -1;
}
int _getpid(void)
{
	return 1;
}
void _exit(int status)
{
	panic("_exit(%d) called", status);
}
