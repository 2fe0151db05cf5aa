/*
 * Synthetic partition state for `snaptool test-write` and the host tests:
 * every value is a function of the seed, so a test can predict what
 * inspect, extract and gdb must show.
 *   vCPU v: x[i] = (v + 1) << 56 | seed << 32 | i; pc = ipa + 0x1000 + 0x100 v;
 *   sp_el1 = ipa + ram - 0x10000 v - 0x10; pstate 0x3c5 (EL1h);
 *   q[k] = (seed << 32 | v << 16 | k, 0xf00d000000000000 | k).
 *   RAM: page p (from the first range's start) is non-zero with probability
 *   touched %, then random bytes with probability random %, else text; a
 *   non-zero page's first 8 bytes are its IPA.
 */
#include "tools/snap/snaptool.h"
#include <stdio.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
	/* splitmix64's finaliser: decorrelates page numbers and seeds */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void synth_vcpu(const struct synth *cfg, unsigned v, struct snap_vcpu *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t seed = cfg->seed & 0xffffff;
	out->index = v;
	out->power = v + 1 == cfg->nvcpus && v ? SNAP_POWER_ON_PENDING : SNAP_POWER_ON;
	out->on_entry = out->power == SNAP_POWER_ON_PENDING ? cfg->ipa + 0x2000 : 0;
	out->on_context = out->power == SNAP_POWER_ON_PENDING ? 0x1234 : 0;
	out->flags = SNAP_VCPU_F_PAUTH | SNAP_VCPU_F_DEBUG | SNAP_VCPU_F_PMU;
	out->mpidr = 0x80000000ull | v;
	for (unsigned i = 0; i < 31; i++)
		out->x[i] = (uint64_t)(v + 1) << 56 | seed << 32 | i;
	out->pc = cfg->ipa + 0x1000 + 0x100ull * v;
	out->sp_el1 = cfg->ipa + cfg->ram - 0x10000ull * v - 0x10;
	out->sp_el0 = 0x5550 + v;
	out->pstate = 0x3c5;
	out->sctlr = 0x30d00800;
	out->tcr = 0x25b5103510ull;
	out->mair = 0xff440c0400ull;
	out->vbar = cfg->ipa + 0x800;
	out->tpidr_el1 = 0x7700 + v;
	out->cpacr = 0x300000;
	for (unsigned k = 0; k < 32; k++) {
		out->v[2 * k] = seed << 32 | (uint64_t)v << 16 | k;
		out->v[2 * k + 1] = 0xf00d000000000000ull | k;
	}
	out->fpsr = 0x10;
	out->fpcr = 0x3000000;
	for (unsigned k = 0; k < 10; k++)
		out->pac_keys[k] = mix(seed * 16 + k);
	out->pmcr = 0x41002000;
}

static int save_vgic(struct snap_save *w, const struct synth *cfg)
{
	struct snap_vgic g = {.nvcpus = cfg->nvcpus, .nspis = 64, .gicd_ctlr = 0x12};
	struct snap_vgic_irq spi[64];
	struct snap_vgic_cpu cpu[SYNTH_MAX_VCPUS];
	for (unsigned i = 0; i < g.nspis; i++)
		spi[i] = (struct snap_vgic_irq){
		    .intid = (uint16_t)(32 + i),
		    .prio = 0xa0,
		    .flags = SNAP_IRQ_GROUP1 | (i == 1 ? SNAP_IRQ_ENABLED | SNAP_IRQ_PENDING : 0),
		    .irouter = 0};
	for (unsigned c = 0; c < cfg->nvcpus; c++) {
		memset(&cpu[c], 0, sizeof(cpu[c]));
		cpu[c].index = c;
		cpu[c].ich_vmcr = 0xf0000001;
		cpu[c].ich_ap1r[0] = c;
		cpu[c].icc_sre = 7;
		for (unsigned i = 0; i < 32; i++)
			cpu[c].priv[i] = (struct snap_vgic_irq){
			    .intid = (uint16_t)i,
			    .prio = 0x80,
			    .target = (uint8_t)c,
			    .flags = SNAP_IRQ_GROUP1 | (i == 27 ? SNAP_IRQ_ENABLED : 0) |
				     (i < 16 ? SNAP_IRQ_EDGE : 0)};
	}
	return snap_save_vgic(w, &g, spi, cpu);
}

static int save_timer(struct snap_save *w, const struct synth *cfg)
{
	struct snap_timer t = {.cntfrq = 62500000,
			       .cntvoff = 0x1000,
			       .vcount = 0x123456789,
			       .pcount = 0x123457789,
			       .policy = SNAP_CLOCK_FREEZE,
			       .nvcpus = cfg->nvcpus};
	struct snap_timer_cpu c[SYNTH_MAX_VCPUS];
	for (unsigned i = 0; i < cfg->nvcpus; i++)
		c[i] = (struct snap_timer_cpu){.cntv_ctl = 1, .cntv_cval = 0x123460000 + i};
	return snap_save_timer(w, &t, c);
}

static int save_uart(struct snap_save *w)
{
	struct snap_device d = {SNAP_DEV_PL011, SNAP_PL011_V1, 0, 33, 0x09000000};
	struct snap_pl011 u = {
	    .ibrd = 1, .lcr_h = 0x70, .cr = 0x301, .imsc = 0x50, .rx_count = 3, .tx_len = 5};
	return snap_save_pl011(w, &d, &u, "ls\n", "hello");
}

int synth_state(struct snap_save *w, const struct synth *cfg)
{
	static const struct snap_idreg fp[] = {
	    {SNAP_MIDR_EL1, 0, 0x410fd083},
	    {SNAP_ID_AA64PFR0_EL1, 0, 0x1100000011111112ull},
	    {SNAP_ID_AA64ISAR0_EL1, 0, 0x221100110212120ull},
	    {SNAP_ID_AA64MMFR0_EL1, 0, 0xf100000f00000005ull},
	    {SNAP_CTR_EL0, 0, 0x8444c004},
	};
	int err = snap_save_fingerprint(w, fp, sizeof(fp) / sizeof(fp[0]));
	for (unsigned v = 0; v < cfg->nvcpus && !err; v++) {
		struct snap_vcpu vc;
		synth_vcpu(cfg, v, &vc);
		err = snap_save_vcpu(w, &vc);
	}
	if (!err && cfg->sve_vl) {
		static uint8_t state[32 * 256 + 17 * 32];
		for (uint32_t i = 0; i < snap_sve_state_size(cfg->sve_vl); i++)
			state[i] = (uint8_t)(i * 7 + cfg->seed);
		struct snap_vcpu_sve h = {0, cfg->sve_vl, cfg->sve_vl / 16 - 1};
		err = snap_save_vcpu_sve(w, &h, state);
	}
	return err ?: save_vgic(w, cfg) ?: save_timer(w, cfg) ?: save_uart(w);
}

static void text_page(uint8_t *pg, uint64_t ipa, uint64_t seed)
{
	static const char *const words[] = {"kernel", "page", "task",	"inode", "buffer",
					    "queue",  "lock", "socket", "vma",	 "dentry"};
	size_t off = 8;
	for (unsigned line = 0; off < SNAP_PAGE; line++) {
		char buf[96];
		uint64_t h = mix(ipa + line + seed);
		int n = snprintf(buf, sizeof(buf), "%s %s %llu: state %u\n", words[h % 10],
				 words[(h >> 8) % 10], (unsigned long long)(h >> 40) % 1000,
				 (unsigned)(h >> 20) % 8);
		size_t k = (size_t)n < SNAP_PAGE - off ? (size_t)n : SNAP_PAGE - off;
		memcpy(pg + off, buf, k);
		off += k;
	}
}

void synth_page(const struct synth *cfg, uint64_t ipa, uint8_t *pg)
{
	uint64_t p = (ipa - cfg->ipa) / SNAP_PAGE, h = mix(p ^ (uint64_t)cfg->seed << 40);
	if (h % 100 >= cfg->touched) {
		memset(pg, 0, SNAP_PAGE);
		return;
	}
	if (cfg->from && cfg->from_len) {
		uint64_t off = (p * SNAP_PAGE) % cfg->from_len;
		for (size_t i = 0; i < SNAP_PAGE; i++)
			pg[i] = cfg->from[(off + i) % cfg->from_len];
	} else if ((h >> 32) % 100 < cfg->random) {
		for (size_t i = 0; i < SNAP_PAGE; i += 8) {
			uint64_t r = mix(h + i);
			memcpy(pg + i, &r, 8);
		}
	} else {
		text_page(pg, ipa, cfg->seed);
	}
	memcpy(pg, &ipa, 8);
}
