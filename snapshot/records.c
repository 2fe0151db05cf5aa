/*
 * Each record type's shape: its name, the version this code knows, and
 * the checks of a body of that version. The writer runs them on what it is
 * given, the reader on what it reads.
 */
#include "snapshot/internal.h"
#include <errno.h>
#include <string.h>

static const char *const rec_names[] = {
    [SNAP_REC_HEADER] = "HEADER",
    [SNAP_REC_CPU_FINGERPRINT] = "CPU_FINGERPRINT",
    [SNAP_REC_VCPU] = "VCPU",
    [SNAP_REC_VCPU_SVE] = "VCPU_SVE",
    [SNAP_REC_VGIC] = "VGIC",
    [SNAP_REC_TIMER] = "TIMER",
    [SNAP_REC_DEVICE] = "DEVICE",
    [SNAP_REC_MEMMAP] = "MEMMAP",
    [SNAP_REC_CHUNK_INDEX] = "CHUNK_INDEX",
    [SNAP_REC_PARENT] = "PARENT",
};

const char *snap_rec_name(uint32_t type)
{
	if (type == SNAP_REC_END)
		return "END";
	return type < sizeof(rec_names) / sizeof(rec_names[0]) ? rec_names[type] : NULL;
}

uint16_t rec_known_version(uint32_t type)
{
	switch (type) {
	case SNAP_REC_HEADER:
	case SNAP_REC_CPU_FINGERPRINT:
	case SNAP_REC_VCPU:
	case SNAP_REC_VCPU_SVE:
	case SNAP_REC_VGIC:
	case SNAP_REC_TIMER:
	case SNAP_REC_DEVICE:
	case SNAP_REC_MEMMAP:
	case SNAP_REC_CHUNK_INDEX:
	case SNAP_REC_PARENT:
	case SNAP_REC_END:
		return 1;
	default:
		return 0;
	}
}

int snap_pl011_parse(const void *payload, uint32_t len, struct snap_pl011 *u, const uint8_t **rx,
		     const uint8_t **tx)
{
	if (len < sizeof(*u))
		return -EBADMSG;
	memcpy(u, payload, sizeof(*u));
	if (u->rx_count > SNAP_PL011_RX_MAX || u->tx_len > SNAP_PL011_TX_MAX ||
	    len != sizeof(*u) + u->rx_count + u->tx_len)
		return -EBADMSG;
	const uint8_t *p = (const uint8_t *)payload + sizeof(*u);
	*rx = p;
	*tx = p + u->rx_count;
	return 0;
}

static int check_fingerprint(const uint8_t *b, uint32_t len, char *why, size_t n)
{
	struct snap_fingerprint f;
	if (len < sizeof(f))
		return snap_failn(why, n, -EBADMSG, "too short");
	memcpy(&f, b, sizeof(f));
	if (len != sizeof(f) + (uint64_t)f.count * sizeof(struct snap_idreg))
		return snap_failn(why, n, -EBADMSG, "%u registers in %u bytes", f.count, len);
	return 0;
}

static int check_vcpu(const uint8_t *b, uint32_t len, uint32_t nvcpus, char *why, size_t n)
{
	struct snap_vcpu v;
	if (len != sizeof(v))
		return snap_failn(why, n, -EBADMSG, "%u bytes (expected %zu)", len, sizeof(v));
	memcpy(&v, b, sizeof(v));
	if (v.index >= nvcpus)
		return snap_failn(why, n, -EBADMSG, "vCPU %u of %u", v.index, nvcpus);
	if (v.power > SNAP_POWER_ON_PENDING)
		return snap_failn(why, n, -EBADMSG, "vCPU %u: power state %u", v.index, v.power);
	return 0;
}

static int check_sve(const uint8_t *b, uint32_t len, uint32_t nvcpus, char *why, size_t n)
{
	struct snap_vcpu_sve h;
	if (len < sizeof(h))
		return snap_failn(why, n, -EBADMSG, "too short");
	memcpy(&h, b, sizeof(h));
	if (h.index >= nvcpus || h.vl < 16 || h.vl > 256 || h.vl % 16)
		return snap_failn(why, n, -EBADMSG, "vCPU %u, vector length %u", h.index, h.vl);
	if (len != sizeof(h) + snap_sve_state_size(h.vl))
		return snap_failn(why, n, -EBADMSG, "%u bytes for vector length %u", len, h.vl);
	return 0;
}

static int check_vgic(const uint8_t *b, uint32_t len, uint32_t nvcpus, char *why, size_t n)
{
	struct snap_vgic g;
	if (len < sizeof(g))
		return snap_failn(why, n, -EBADMSG, "too short");
	memcpy(&g, b, sizeof(g));
	if (g.nvcpus != nvcpus || g.nspis > MAX_SPIS)
		return snap_failn(why, n, -EBADMSG, "%u vCPUs (expected %u), %u SPIs", g.nvcpus,
				  nvcpus, g.nspis);
	uint64_t want = sizeof(g) + (uint64_t)g.nspis * sizeof(struct snap_vgic_irq) +
			(uint64_t)g.nvcpus * sizeof(struct snap_vgic_cpu);
	if (len != want)
		return snap_failn(why, n, -EBADMSG, "%u bytes (expected %llu)", len,
				  (unsigned long long)want);
	const uint8_t *cpus = b + sizeof(g) + g.nspis * sizeof(struct snap_vgic_irq);
	for (uint32_t i = 0; i < g.nvcpus; i++) {
		uint32_t idx;
		memcpy(&idx, cpus + i * sizeof(struct snap_vgic_cpu), sizeof(idx));
		if (idx != i)
			return snap_failn(why, n, -EBADMSG, "redistributor %u says vCPU %u", i,
					  idx);
	}
	return 0;
}

static int check_timer(const uint8_t *b, uint32_t len, uint32_t nvcpus, char *why, size_t n)
{
	struct snap_timer t;
	if (len < sizeof(t))
		return snap_failn(why, n, -EBADMSG, "too short");
	memcpy(&t, b, sizeof(t));
	if (t.nvcpus != nvcpus ||
	    len != sizeof(t) + (uint64_t)t.nvcpus * sizeof(struct snap_timer_cpu))
		return snap_failn(why, n, -EBADMSG, "%u vCPUs in %u bytes (expected %u)", t.nvcpus,
				  len, nvcpus);
	if (t.policy > SNAP_CLOCK_CATCH_UP || t.cntfrq == 0)
		return snap_failn(why, n, -EBADMSG, "clock policy %u, frequency %llu", t.policy,
				  (unsigned long long)t.cntfrq);
	return 0;
}

static int check_device(const uint8_t *b, uint32_t len, char *why, size_t n)
{
	struct snap_device d;
	if (len < sizeof(d))
		return snap_failn(why, n, -EBADMSG, "too short");
	memcpy(&d, b, sizeof(d));
	if (d.kind == SNAP_DEV_PL011 && d.version == SNAP_PL011_V1) {
		struct snap_pl011 u;
		const uint8_t *rx, *tx;
		if (snap_pl011_parse(b + sizeof(d), len - sizeof(d), &u, &rx, &tx))
			return snap_failn(why, n, -EBADMSG, "PL011 %u: inconsistent lengths",
					  d.instance);
	}
	return 0;
}

static int check_parent(const uint8_t *b, uint32_t len, char *why, size_t n)
{
	struct snap_parent par;
	if (len != sizeof(par))
		return snap_failn(why, n, -EBADMSG, "%u bytes", len);
	memcpy(&par, b, sizeof(par));
	if (!memchr(par.name, 0, sizeof(par.name)) || !snap_name_valid(par.name))
		return snap_failn(why, n, -EBADMSG, "a bad parent name");
	return 0;
}

/* A caller's record, checked as the reader will. */
int rec_check(uint32_t type, uint16_t version, const void *body, uint32_t len, uint32_t nvcpus,
	      char *why, size_t n)
{
	const uint8_t *b = body;
	if (version != rec_known_version(type))
		return 0; /* only optional ones get this far (mf_walk) */
	switch (type) {
	case SNAP_REC_CPU_FINGERPRINT:
		return check_fingerprint(b, len, why, n);
	case SNAP_REC_VCPU:
		return check_vcpu(b, len, nvcpus, why, n);
	case SNAP_REC_VCPU_SVE:
		return check_sve(b, len, nvcpus, why, n);
	case SNAP_REC_VGIC:
		return check_vgic(b, len, nvcpus, why, n);
	case SNAP_REC_TIMER:
		return check_timer(b, len, nvcpus, why, n);
	case SNAP_REC_DEVICE:
		return check_device(b, len, why, n);
	case SNAP_REC_PARENT:
		return check_parent(b, len, why, n);
	default:
		return 0;
	}
}
