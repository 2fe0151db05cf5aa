/* memfill: a freestanding arm64 Linux program for snapshot tests (no libc:
 * the host has no arm64 libc). Fills N MiB (argv[1], default 64) of
 * anonymous memory with a position-dependent pattern, then every 100 ms
 * prints "MEMFILL <counter> <checksum>", the checksum recomputed over all
 * of it each time: a restored guest whose memory differs in one word
 * prints a different checksum. */
typedef unsigned long u64;
typedef long s64;

#define SYS_write     64
#define SYS_exit      93
#define SYS_nanosleep 101
#define SYS_mmap      222

static s64 sys6(s64 n, s64 a, s64 b, s64 c, s64 d, s64 e, s64 f)
{
	register s64 x8 __asm__("x8") = n;
	register s64 x0 __asm__("x0") = a;
	register s64 x1 __asm__("x1") = b;
	register s64 x2 __asm__("x2") = c;
	register s64 x3 __asm__("x3") = d;
	register s64 x4 __asm__("x4") = e;
	register s64 x5 __asm__("x5") = f;
	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
			 : "memory");
	return x0;
}

static void out(const char *s, u64 n)
{
	sys6(SYS_write, 1, (s64)s, (s64)n, 0, 0, 0);
}

static char *put_dec(char *p, u64 v)
{
	char t[24];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static char *put_hex(char *p, u64 v)
{
	for (int i = 60; i >= 0; i -= 4)
		*p++ = "0123456789abcdef"[(v >> i) & 15];
	return p;
}

/* Non-zero everywhere (so every page is touched, none is a zero page) and
 * repetitive within a page (so a compressing store can shrink it); each
 * page's first word holds its number, so a page restored in the wrong
 * place changes the checksum. */
static u64 pattern(u64 i)
{
	if ((i & 511) == 0)
		return 0xa5a5000000000000ul | (i >> 9);
	return 0x5a5a000000000001ul ^ ((i & 511) * 0x9e3779b97f4a7c15ul);
}

static u64 checksum(const u64 *m, u64 words)
{
	u64 h = 0;
	for (u64 i = 0; i < words; i++)
		h = (h ^ m[i]) * 0x100000001b3ul; /* FNV-1a-like: order matters, no cancelling */
	return h;
}

static u64 parse_mib(const char *s)
{
	u64 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u64)(*s++ - '0');
	return v ? v : 64;
}

static void run(u64 mib)
{
	u64 bytes = mib << 20, words = bytes / 8;
	/* PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS */
	s64 a = sys6(SYS_mmap, 0, (s64)bytes, 3, 0x22, -1, 0);
	if (a < 0 && a > -4096) {
		out("MEMFILL mmap failed\n", 20);
		sys6(SYS_exit, 1, 0, 0, 0, 0, 0);
	}
	u64 *m = (u64 *)a;
	for (u64 i = 0; i < words; i++)
		m[i] = pattern(i);
	struct {
		s64 sec, nsec;
	} ts = {0, 100000000};
	for (u64 counter = 0;; counter++) {
		char line[64], *p = line;
		const char *tag = "MEMFILL ";
		while (*tag)
			*p++ = *tag++;
		p = put_dec(p, counter);
		*p++ = ' ';
		p = put_hex(p, checksum(m, words));
		*p++ = '\n';
		out(line, (u64)(p - line));
		sys6(SYS_nanosleep, (s64)&ts, 0, 0, 0, 0, 0);
	}
}

/* The kernel enters with sp at argc, then argv[]. */
void cstart(u64 *sp)
{
	run(sp[0] > 1 ? parse_mib((const char *)sp[2]) : 64);
}

__asm__(
    ".globl _start\n_start:\n\tmov x0, sp\n\tbl cstart\n\tmov x0, #0\n\tmov x8, #93\n\tsvc #0\n");
