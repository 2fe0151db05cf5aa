/*
 * An ELF core file of a snapshot, in the layout Linux gives AArch64 process
 * cores, which gdb reads: a PT_NOTE with one NT_PRSTATUS (general
 * registers) and NT_FPREGSET (q0-q31, FPSR, FPCR) per vCPU, so each vCPU is
 * a thread (LWP = vCPU index + 1), then the guest's RAM ranges as PT_LOAD
 * segments whose addresses are guest physical addresses (zero pages stay
 * holes in the file). gdb's `x` therefore reads guest physical memory:
 * exact while the guest runs with its MMU off or identity mapped.
 */
#define _GNU_SOURCE
#include "tools/snap/snaptool.h"
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* struct elf_prstatus of arm64 Linux (its BFD reader takes pr_reg at 112). */
struct a64_prstatus {
	int32_t si_signo, si_code, si_errno;
	int16_t cursig;
	uint16_t pad0;
	uint64_t sigpend, sighold;
	int32_t pid, ppid, pgrp, sid;
	uint64_t times[8]; /* utime, stime, cutime, cstime */
	uint64_t reg[34];  /* x0-x30, sp, pc, pstate */
	int32_t fpvalid;
	uint32_t pad1;
};
/* struct user_fpsimd_state */
struct a64_fpregs {
	uint64_t v[64];
	uint32_t fpsr, fpcr;
	uint32_t reserved[2];
};
/* struct elf_prpsinfo of arm64 Linux */
struct a64_prpsinfo {
	char state, sname, zomb, nice;
	uint32_t pad0;
	uint64_t flag;
	uint32_t uid, gid;
	int32_t pid, ppid, pgrp, sid;
	char fname[16];
	char psargs[80];
};
_Static_assert(sizeof(struct a64_prstatus) == 392, "elf_prstatus");
_Static_assert(__builtin_offsetof(struct a64_prstatus, reg) == 112, "pr_reg");
_Static_assert(sizeof(struct a64_fpregs) == 528, "user_fpsimd_state");
_Static_assert(sizeof(struct a64_prpsinfo) == 136, "elf_prpsinfo");

#define NOTE_NAME "CORE"

static size_t note_size(size_t desc)
{
	return sizeof(Elf64_Nhdr) + 8 + ((desc + 3) & ~(size_t)3);
}

static uint8_t *put_note(uint8_t *p, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr h = {sizeof(NOTE_NAME), (Elf64_Word)len, type};
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	memset(p, 0, 8);
	memcpy(p, NOTE_NAME, sizeof(NOTE_NAME));
	p += 8;
	memset(p, 0, (len + 3) & ~(size_t)3);
	memcpy(p, desc, len);
	return p + ((len + 3) & ~(size_t)3);
}

/* The SP the vCPU was using: SP_EL1 in EL1h, SP_EL0 in EL1t and EL0. */
static uint64_t current_sp(const struct snap_vcpu *v)
{
	return (v->pstate & 0xf) == 5 ? v->sp_el1 : v->sp_el0;
}

static uint8_t *vcpu_notes(uint8_t *p, const struct snap_vcpu *v)
{
	struct a64_prstatus pr = {.pid = (int32_t)v->index + 1, .fpvalid = 1};
	memcpy(pr.reg, v->x, sizeof(v->x));
	pr.reg[31] = current_sp(v);
	pr.reg[32] = v->pc;
	pr.reg[33] = v->pstate;
	p = put_note(p, NT_PRSTATUS, &pr, sizeof(pr));
	struct a64_fpregs fp = {.fpsr = (uint32_t)v->fpsr, .fpcr = (uint32_t)v->fpcr};
	memcpy(fp.v, v->v, sizeof(fp.v));
	return put_note(p, NT_FPREGSET, &fp, sizeof(fp));
}

/* Header, program headers and notes: everything before the first segment. */
static uint8_t *build_head(const struct snap_image *m, unsigned nload, size_t *len,
			   uint64_t *data_off)
{
	const struct snap_header *h = snap_image_header(m);
	size_t notes = note_size(sizeof(struct a64_prpsinfo)) +
		       h->nvcpus * (note_size(sizeof(struct a64_prstatus)) +
				    note_size(sizeof(struct a64_fpregs)));
	size_t ph_off = sizeof(Elf64_Ehdr), note_off = ph_off + (nload + 1) * sizeof(Elf64_Phdr);
	*len = note_off + notes;
	*data_off = (*len + SNAP_PAGE - 1) / SNAP_PAGE * SNAP_PAGE;
	uint8_t *b = calloc(1, *len);
	if (!b)
		return NULL;
	Elf64_Ehdr *e = (Elf64_Ehdr *)b;
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_ident[EI_OSABI] = ELFOSABI_NONE;
	e->e_type = ET_CORE;
	e->e_machine = EM_AARCH64;
	e->e_version = EV_CURRENT;
	e->e_phoff = ph_off;
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = (Elf64_Half)(nload + 1);
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + ph_off);
	ph[0] =
	    (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = note_off, .p_filesz = notes, .p_align = 4};
	struct a64_prpsinfo ps = {.state = 0, .sname = 'R', .pid = 1};
	snprintf(ps.fname, sizeof(ps.fname), "%.15s", h->partition[0] ? h->partition : h->name);
	snprintf(ps.psargs, sizeof(ps.psargs), "snapshot %.32s of %.32s", h->name, h->partition);
	uint8_t *p = put_note(b + note_off, NT_PRPSINFO, &ps, sizeof(ps));
	for (unsigned i = 0; i < h->nvcpus; i++)
		p = vcpu_notes(p, snap_image_vcpu(m, i));
	unsigned nr, k = 1;
	const struct snap_range *r = snap_image_ranges(m, &nr);
	uint64_t off = *data_off;
	for (unsigned i = 0; i < nr; i++) {
		if (r[i].flags != SNAP_RANGE_RAM)
			continue;
		ph[k++] = (Elf64_Phdr){.p_type = PT_LOAD,
				       .p_flags = PF_R | PF_W | PF_X,
				       .p_offset = off,
				       .p_vaddr = r[i].ipa,
				       .p_paddr = r[i].ipa,
				       .p_filesz = r[i].bytes,
				       .p_memsz = r[i].bytes,
				       .p_align = SNAP_PAGE};
		off += r[i].bytes;
	}
	return b;
}

static int write_ram(struct snap_store *s, struct snap_image *m, int fd, uint64_t off)
{
	struct chunk_reader rd;
	if (reader_init(&rd, m))
		return -ENOMEM;
	unsigned nr, nc;
	const struct snap_range *r = snap_image_ranges(m, &nr);
	const struct snap_chunk *c = snap_image_chunks(m, &nc);
	int err = 0;
	for (unsigned i = 0; i < nr && !err; i++) {
		if (r[i].flags != SNAP_RANGE_RAM)
			continue;
		for (uint32_t k = 0; k < r[i].nchunks && !err; k++) {
			unsigned ci = r[i].first_chunk + k;
			err = reader_get(&rd, s, ci) ?: write_chunk_pages(fd, off, &c[ci], rd.raw);
			off += (uint64_t)c[ci].pages * SNAP_PAGE;
		}
	}
	reader_fini(&rd);
	if (!err && ftruncate(fd, (off_t)off))
		err = -errno;
	return err;
}

int write_core(struct snap_store *s, struct snap_image *m, const char *out)
{
	unsigned nr, nload = 0;
	const struct snap_range *r = snap_image_ranges(m, &nr);
	for (unsigned i = 0; i < nr; i++)
		nload += r[i].flags == SNAP_RANGE_RAM;
	size_t len;
	uint64_t data_off;
	uint8_t *head = build_head(m, nload, &len, &data_off);
	int fd = head ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
	int err = !head ? -ENOMEM : fd < 0 ? -errno : 0;
	if (!err && pwrite(fd, head, len, 0) != (ssize_t)len)
		err = -errno;
	if (!err)
		err = write_ram(s, m, fd, data_off);
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	free(head);
	if (err && err != -EBADMSG)
		fprintf(stderr, "snaptool: %s: %s\n", out, strerror(-err));
	if (!err)
		printf("%s: %u vCPU threads, %u RAM segment%s\n", out, snap_image_header(m)->nvcpus,
		       nload, nload == 1 ? "" : "s");
	return err;
}
