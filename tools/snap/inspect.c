/* `snaptool list` and `snaptool inspect`: what a store and a snapshot hold. */
#include "tools/snap/snaptool.h"
#include <string.h>
#include <time.h>

static const char *slot_state(int st)
{
	return st == SNAP_SLOT_OK ? "valid" : st == SNAP_SLOT_BLANK ? "blank" : "damaged";
}

static void print_time(uint64_t ns)
{
	if (!ns) {
		printf("-");
		return;
	}
	time_t t = (time_t)(ns / 1000000000u);
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", gmtime(&t));
	printf("%s UTC", buf);
}

static void print_slots(const struct snap_store_stat *st)
{
	for (unsigned i = 0; i < 2; i++) {
		printf("  slot %u: %s", i, slot_state(st->slot_state[i]));
		if (st->slot_state[i] == SNAP_SLOT_OK)
			printf(", generation %llu%s", (unsigned long long)st->slot_gen[i],
			       i == st->slot ? " (in use)" : "");
		else if (st->slot_state[i] == SNAP_SLOT_BAD)
			printf(": %s", st->slot_why[i]);
		printf("\n");
	}
}

int cmd_list(int argc, char **argv)
{
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], false);
	if (!s)
		return 1;
	struct snap_store_stat st;
	int err = snap_stat(s, &st);
	printf("store %016llx: generation %llu, %u snapshot%s, area ",
	       (unsigned long long)st.store_id, (unsigned long long)st.generation, st.count,
	       st.count == 1 ? "" : "s");
	print_size(stdout, st.area_blocks * SNAP_BLOCK);
	printf(", used ");
	print_size(stdout, st.used_blocks * SNAP_BLOCK);
	printf(", free ");
	print_size(stdout, st.free_blocks * SNAP_BLOCK);
	printf("\n");
	print_slots(&st);
	if (st.damaged || err)
		printf("  %u snapshot%s with an unreadable manifest (%s)\n", st.damaged,
		       st.damaged == 1 ? "" : "s", snap_error(s));
	if (st.count)
		printf("%-24s %5s %10s %10s %6s  %s\n", "NAME", "VCPUS", "RAM", "ON DISK", "GEN",
		       "CREATED");
	for (unsigned i = 0; i < st.count; i++) {
		struct snap_info in;
		snap_entry(s, i, &in);
		char ram[32], disk[32];
		snprintf(ram, sizeof(ram), "%llu MiB", (unsigned long long)(in.ram_bytes >> 20));
		snprintf(disk, sizeof(disk), "%.1f MiB", (double)in.disk_bytes / (1 << 20));
		printf("%-24s %5u %10s %10s %6llu  ", in.name, in.nvcpus, ram, disk,
		       (unsigned long long)in.generation);
		print_time(in.created);
		printf("\n");
	}
	snap_close(s);
	filedev_close(&f);
	return 0;
}

static void print_header(const struct snap_image *m)
{
	const struct snap_header *h = snap_image_header(m);
	printf("snapshot \"%s\" of partition \"%s\", written by \"%s\"\n", h->name, h->partition,
	       h->creator);
	printf("  generation %llu, created ", (unsigned long long)h->generation);
	print_time(h->created);
	printf("\n  %u vCPU%s, RAM ", h->nvcpus, h->nvcpus == 1 ? "" : "s");
	print_size(stdout, h->ram_bytes);
	printf(", pages of %u bytes, chunks of %u pages\n", h->page_size, h->chunk_pages);
}

static void print_records(const struct snap_image *m)
{
	printf("manifest: %u bytes, %u records\n", snap_image_manifest_len(m),
	       snap_image_nrecords(m));
	for (unsigned i = 0; i < snap_image_nrecords(m); i++) {
		struct snap_rec r;
		snap_image_record(m, i, &r);
		const char *name = snap_rec_name(r.type);
		char t[16];
		snprintf(t, sizeof(t), "0x%x", r.type);
		printf("  %3u  %-16s v%u %s %8u bytes at %u\n", i, name ? name : t, r.version,
		       r.flags & SNAP_REC_F_OPTIONAL ? "opt" : "   ", r.len, r.offset);
	}
}

static void print_fingerprint(const struct snap_image *m)
{
	uint32_t n;
	const struct snap_idreg *r = snap_image_fingerprint(m, &n);
	printf("CPU fingerprint: %u registers\n", n);
	for (uint32_t i = 0; i < n; i++) {
		const char *name = snap_sysreg_name(r[i].reg);
		char b[24];
		snprintf(b, sizeof(b), "S%u_%u_C%u_C%u_%u", r[i].reg >> 14 & 3, r[i].reg >> 11 & 7,
			 r[i].reg >> 7 & 15, r[i].reg >> 3 & 15, r[i].reg & 7);
		printf("  %-18s 0x%016llx\n", name ? name : b, (unsigned long long)r[i].value);
	}
}

#define REG(name, v) printf("    %-12s 0x%016llx\n", name, (unsigned long long)(v))

static void print_vcpu(const struct snap_image *m, unsigned i)
{
	static const char *const power[] = {"off", "on", "on, CPU_ON pending"};
	const struct snap_vcpu *v = snap_image_vcpu(m, i);
	printf("vCPU %u: %s, MPIDR 0x%llx, flags 0x%x\n", i, power[v->power],
	       (unsigned long long)v->mpidr, v->flags);
	for (unsigned r = 0; r < 31; r += 2) {
		printf("    x%-2u 0x%016llx", r, (unsigned long long)v->x[r]);
		if (r + 1 < 31)
			printf("   x%-2u 0x%016llx", r + 1, (unsigned long long)v->x[r + 1]);
		printf("\n");
	}
	REG("pc", v->pc);
	REG("pstate", v->pstate);
	REG("sp_el0", v->sp_el0);
	REG("sp_el1", v->sp_el1);
	REG("elr_el1", v->elr_el1);
	REG("spsr_el1", v->spsr_el1);
	REG("sctlr_el1", v->sctlr);
	REG("tcr_el1", v->tcr);
	REG("ttbr0_el1", v->ttbr0);
	REG("ttbr1_el1", v->ttbr1);
	REG("mair_el1", v->mair);
	REG("vbar_el1", v->vbar);
	REG("esr_el1", v->esr);
	REG("far_el1", v->far);
	REG("tpidr_el1", v->tpidr_el1);
	REG("cpacr_el1", v->cpacr);
	printf("    fpsr 0x%llx fpcr 0x%llx q0 0x%016llx%016llx q31 0x%016llx%016llx\n",
	       (unsigned long long)v->fpsr, (unsigned long long)v->fpcr,
	       (unsigned long long)v->v[1], (unsigned long long)v->v[0],
	       (unsigned long long)v->v[63], (unsigned long long)v->v[62]);
	if (v->power == SNAP_POWER_ON_PENDING)
		printf("    CPU_ON entry 0x%llx context 0x%llx\n", (unsigned long long)v->on_entry,
		       (unsigned long long)v->on_context);
	if (v->flags & SNAP_VCPU_F_SERROR)
		printf("    virtual SError pending, syndrome 0x%llx\n",
		       (unsigned long long)v->vsesr);
	const void *state;
	const struct snap_vcpu_sve *sve = snap_image_vcpu_sve(m, i, &state);
	if (sve)
		printf("    SVE: vector length %u bytes, ZCR_EL1 0x%llx\n", sve->vl,
		       (unsigned long long)sve->zcr_el1);
}

static void print_vgic(const struct snap_image *m)
{
	const struct snap_vgic_irq *spi;
	const struct snap_vgic_cpu *cpu;
	const struct snap_vgic *g = snap_image_vgic(m, &spi, &cpu);
	if (!g) {
		printf("vGIC: no record\n");
		return;
	}
	unsigned en = 0, pend = 0, act = 0;
	for (uint32_t i = 0; i < g->nspis; i++) {
		en += !!(spi[i].flags & SNAP_IRQ_ENABLED);
		pend += !!(spi[i].flags & (SNAP_IRQ_PENDING | SNAP_IRQ_LEVEL));
		act += !!(spi[i].flags & SNAP_IRQ_ACTIVE);
	}
	printf("vGIC: GICD_CTLR 0x%x, %u SPIs (%u enabled, %u pending, %u active)\n", g->gicd_ctlr,
	       g->nspis, en, pend, act);
	for (uint32_t c = 0; c < g->nvcpus; c++) {
		printf("  vCPU %u: ICH_VMCR 0x%llx, AP1R0 0x%llx%s; enabled/pending PPIs+SGIs:", c,
		       (unsigned long long)cpu[c].ich_vmcr, (unsigned long long)cpu[c].ich_ap1r[0],
		       cpu[c].flags & SNAP_VGIC_CPU_SLEEP ? ", asleep" : "");
		for (unsigned i = 0; i < 32; i++)
			if (cpu[c].priv[i].flags & (SNAP_IRQ_ENABLED | SNAP_IRQ_PENDING))
				printf(" %u%s", i,
				       cpu[c].priv[i].flags & SNAP_IRQ_PENDING ? "(pending)" : "");
		printf("\n");
	}
}

static void print_timer(const struct snap_image *m)
{
	const struct snap_timer_cpu *c;
	const struct snap_timer *t = snap_image_timer(m, &c);
	if (!t) {
		printf("timers: no record\n");
		return;
	}
	printf("timers: %llu Hz, policy %s, CNTVOFF 0x%llx, virtual count 0x%llx at the pause\n",
	       (unsigned long long)t->cntfrq,
	       t->policy == SNAP_CLOCK_FREEZE ? "freeze" : "catch up",
	       (unsigned long long)t->cntvoff, (unsigned long long)t->vcount);
	for (uint32_t i = 0; i < t->nvcpus; i++)
		printf("  vCPU %u: CNTV_CTL 0x%llx CVAL 0x%llx, CNTP_CTL 0x%llx CVAL 0x%llx, "
		       "CNTKCTL 0x%llx\n",
		       i, (unsigned long long)c[i].cntv_ctl, (unsigned long long)c[i].cntv_cval,
		       (unsigned long long)c[i].cntp_ctl, (unsigned long long)c[i].cntp_cval,
		       (unsigned long long)c[i].cntkctl);
}

static void print_devices(const struct snap_image *m)
{
	for (unsigned i = 0; i < snap_image_ndevices(m); i++) {
		const void *p;
		uint32_t len;
		const struct snap_device *d = snap_image_device(m, i, &p, &len);
		struct snap_pl011 u;
		const uint8_t *rx, *tx;
		if (d->kind == SNAP_DEV_PL011 && d->version == SNAP_PL011_V1 &&
		    !snap_pl011_parse(p, len, &u, &rx, &tx))
			printf("device: PL011 %u at 0x%llx (INTID %u): CR 0x%x IMSC 0x%x RIS 0x%x, "
			       "%u input bytes queued, %u output bytes unsent\n",
			       d->instance, (unsigned long long)d->base, d->irq, u.cr, u.imsc,
			       u.ris, u.rx_count, u.tx_len);
		else
			printf("device: kind %u v%u instance %u at 0x%llx: %u bytes\n", d->kind,
			       d->version, d->instance, (unsigned long long)d->base, len);
	}
}

static void print_memory(const struct snap_image *m)
{
	unsigned nr, nc;
	const struct snap_range *r = snap_image_ranges(m, &nr);
	const struct snap_chunk *c = snap_image_chunks(m, &nc);
	printf("memory map:\n");
	for (unsigned i = 0; i < nr; i++) {
		uint64_t pages = 0, zero = 0, stored = 0, raw = 0;
		for (uint32_t k = 0; k < r[i].nchunks; k++) {
			const struct snap_chunk *ck = &c[r[i].first_chunk + k];
			pages += ck->pages;
			zero += ck->pages - ck->nonzero;
			stored += ck->payload_len;
			raw += ck->codec == SNAP_CODEC_NONE ? ck->payload_len : 0;
		}
		printf("  0x%010llx-0x%010llx %s", (unsigned long long)r[i].ipa,
		       (unsigned long long)(r[i].ipa + r[i].bytes - 1),
		       r[i].flags == SNAP_RANGE_RAM ? "RAM" : "MMIO");
		if (r[i].flags != SNAP_RANGE_RAM) {
			printf("\n");
			continue;
		}
		printf(" %u chunks, %llu pages (%llu zero), stored ", r[i].nchunks,
		       (unsigned long long)pages, (unsigned long long)zero);
		print_size(stdout, stored);
		if (pages > zero)
			printf(" (%.2f:1 over the non-zero pages",
			       (double)(pages - zero) * SNAP_PAGE / (double)(stored ? stored : 1));
		if (raw)
			printf(", %llu bytes stored uncompressed", (unsigned long long)raw);
		printf("%s\n", pages > zero ? ")" : "");
	}
}

int cmd_inspect(int argc, char **argv)
{
	struct filedev f;
	struct snap_store *s = store_open(&f, argv[0], false);
	if (!s)
		return 1;
	struct snap_image *m;
	int rc = 1;
	if (snap_load(s, argv[1], &m)) {
		fprintf(stderr, "snaptool: %s\n", snap_error(s));
		goto out;
	}
	struct snap_info in;
	snap_lookup(s, argv[1], &in);
	print_header(m);
	printf("  on disk: ");
	print_size(stdout, in.disk_bytes);
	printf(" (manifest at block %llu)\n", (unsigned long long)in.manifest_block);
	print_records(m);
	print_fingerprint(m);
	for (unsigned i = 0; i < snap_image_header(m)->nvcpus; i++)
		print_vcpu(m, i);
	print_vgic(m);
	print_timer(m);
	print_devices(m);
	print_memory(m);
	snap_image_free(m);
	rc = 0;
out:
	snap_close(s);
	filedev_close(&f);
	return rc;
}
