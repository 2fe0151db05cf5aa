# tessera: `make` builds build/tessera.efi, `make qemu` runs it, `make test`
# tests it, `make bench` measures it. Missing dependencies are fetched and
# built by tools/bootstrap.sh into build/deps on first use.

B       := build
DEPS    := $(B)/deps
CROSS   ?= aarch64-linux-gnu-
CC      := $(CROSS)gcc
LD      := $(CROSS)ld
OBJCOPY := $(CROSS)objcopy
NM      := $(CROSS)nm
READELF := $(CROSS)readelf
HOSTCC  ?= gcc
PYTHON  ?= python3
# QEMU=path runs `make qemu`, the tests and benchmarks on another QEMU binary
# (e.g. build/deps/qemu10/qemu-system-aarch64 from `make qemu10`); unset,
# tools/qemu.sh uses Debian's qemu-system-aarch64. A path is made absolute.
ifneq ($(QEMU),)
override QEMU := $(if $(findstring /,$(QEMU)),$(abspath $(QEMU)),$(QEMU))
export QEMU
endif

VERSION := $(shell cat VERSION)-$(shell git describe --always --dirty 2>/dev/null || echo nogit)
STAMP   := $(DEPS)/stamps/all
EFI     := $(DEPS)/gnu-efi/usr
NEWLIB  := $(DEPS)/newlib/aarch64-none-elf

# Folders holding hypervisor code, in dependency order (lowest last);
# tools/check-layers.py enforces the order (`make check-layers`).
KERNEL_DIRS := kernel/init kernel/console kernel/vm kernel/io kernel/vgic kernel/vdev kernel/machine
TARGET_DIRS := $(KERNEL_DIRS) snapshot smmu drivers arch/arm64 boot lib
SRCS := $(foreach d,$(TARGET_DIRS),$(wildcard $(d)/*.c $(d)/*.S))
OBJS := $(patsubst %,$(B)/obj/%.o,$(basename $(SRCS)))

# Asked of the cross compiler only when a target needs them (recursive =),
# so `make` on a machine without it reaches the bootstrap that installs it.
CC_INCLUDE = $(shell $(CC) -print-file-name=include)
LIBGCC = $(shell $(CC) -print-libgcc-file-name)
TARGET_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-ffreestanding -fPIC -fno-stack-protector -fno-plt -fvisibility=hidden \
	-mgeneral-regs-only -mno-outline-atomics -mstrict-align \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-nostdinc -isystem $(NEWLIB)/include -isystem $(CC_INCLUDE) \
	-I. -I$(DEPS)/libfdt/include -I$(DEPS)/zstd/include \
	-DTESSERA_VERSION='"$(VERSION)"' -MMD -MP
EFI_CFLAGS := -I$(EFI)/include/efi -I$(EFI)/include/efi/aarch64

DEP_LIBS := $(DEPS)/zstd/lib/libzstd.a $(DEPS)/libfdt/lib/libfdt.a $(NEWLIB)/lib/libc.a \
	$(EFI)/lib/libgnuefi.a
LIBS = $(DEP_LIBS) $(LIBGCC)
LDFLAGS := -nostdlib -znocombreloc -T linker/tessera.lds -shared -Bsymbolic \
	--defsym=EFI_SUBSYSTEM=0xa --no-undefined --build-id=none --no-warn-rwx-segments

.PHONY: all deps qemu test host-test fuzz-test qemu-test bench format format-check cppcheck \
	check-layers check-nofp clean distclean \
	guests linux-guest
all: $(B)/tessera.efi $(B)/snaptool

deps: $(STAMP)
$(STAMP): tools/bootstrap.sh
	tools/bootstrap.sh
$(DEP_LIBS): $(STAMP) ;

# V=1 shows the full commands.
Q := $(if $(V),,@)
$(B)/obj/boot/%.o: boot/%.c $(STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(TARGET_CFLAGS) $(EFI_CFLAGS) -c $< -o $@
$(B)/obj/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(TARGET_CFLAGS) -c $< -o $@
$(B)/obj/%.o: %.S $(STAMP)
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(Q)$(CC) $(TARGET_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# Two links: the first gives the function addresses that the symbol table
# (used by crash backtraces) records; the table sits at the end of .rodata,
# so the second link leaves every function where the first put it.
LINK = @echo "  LD      $(2)"; $(LD) $(LDFLAGS) $(EFI)/lib/crt0-efi-aarch64.o $(OBJS) $(1) --start-group $(LIBS) --end-group -o $(2)
$(B)/ksyms-empty.c: tools/gen-ksyms.sh
	@mkdir -p $(B)
	tools/gen-ksyms.sh /dev/null > $@
$(B)/tessera.pass1.so: $(OBJS) $(B)/ksyms-empty.o linker/tessera.lds $(DEP_LIBS)
	$(call LINK,$(B)/ksyms-empty.o,$@)
$(B)/ksyms.c: $(B)/tessera.pass1.so tools/gen-ksyms.sh
	$(NM) -n -S --defined-only $< | tools/gen-ksyms.sh - > $@
$(B)/%.o: $(B)/%.c $(STAMP)
	@echo "  CC      $<"
	$(Q)$(CC) $(TARGET_CFLAGS) -c $< -o $@
$(B)/tessera.so: $(B)/tessera.pass1.so $(B)/ksyms.o
	$(call LINK,$(B)/ksyms.o,$@)
	tools/check-image.sh $(B)/tessera.pass1.so $@
$(B)/tessera.efi: $(B)/tessera.so
	$(OBJCOPY) -j .text -j .rodata -j .dynamic -j .data -j .rela.dyn -j .rela -j .rela.* \
		-O binary $< $@
	@# the PE header's last section ends at _edata, page aligned: the file must too
	truncate -s %4096 $@
	@echo "built $@ ($$(stat -c %s $@) bytes)"

# ---- snaptool (host) ----------------------------------------------------------
# The snapshot format code (snapshot/) and tools/snap, against the host's
# libzstd (libzstd-dev). Linked statically: the shared library does not
# export XXH64, which the format uses; xxhash.h, which libzstd-dev does not
# ship, comes from the same zstd source in build/deps (after the system's
# headers, so zstd.h is the host's).
SNAP_SRCS := $(wildcard snapshot/*.c)
SNAPTOOL_SRCS := $(wildcard tools/snap/*.c)
HOST_ZSTD := -idirafter $(DEPS)/zstd/include
HOST_ZSTD_LIBS := -l:libzstd.a
$(B)/snaptool: $(SNAPTOOL_SRCS) $(SNAP_SRCS) $(wildcard snapshot/*.h tools/snap/*.h lib/types.h) | $(STAMP)
	@mkdir -p $(dir $@)
	@echo "  HOSTCC  $@"
	$(Q)$(HOSTCC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -DTESSERA_HOST \
		-I. $(HOST_ZSTD) $(SNAPTOOL_SRCS) $(SNAP_SRCS) -o $@ $(HOST_ZSTD_LIBS)

# ---- guests -----------------------------------------------------------------
# Test guests (tests/guests) and the Linux kit (Debian's kernel + busybox).
-include tests/guests/guests.mk
LINUX_KIT := $(B)/linux-guest
$(LINUX_KIT)/Image: tools/linux-guest.sh tools/mkcpio.py tests/guests/memfill/memfill.c | $(STAMP)
	tools/linux-guest.sh $(LINUX_KIT)
linux-guest: $(LINUX_KIT)/Image
# Where the configs in configs/ expect their files on the ESP.
ESP_FILES := $(LINUX_KIT)/Image=tessera/linux/Image \
	$(LINUX_KIT)/initramfs.cpio.gz=tessera/linux/initramfs.gz \
	$(B)/guests/tguest.elf=tessera/tguest.elf
export ESP_FILES

# ---- running ----------------------------------------------------------------
SMP    ?= 4
MEM    ?= 4G
CONFIG ?= configs/qemu-default.dts
QEMU_EXTRA ?=
# FIRMWARE=u-boot boots through U-Boot's EFI; ACPI=1 has AAVMF describe the
# machine with ACPI tables instead of a device tree (docs/boards.md).
FIRMWARE ?= aavmf
ACPI ?= 0
qemu: $(B)/tessera.efi $(LINUX_KIT)/Image guests
	SMP=$(SMP) MEM=$(MEM) CONFIG=$(CONFIG) QEMU_EXTRA="$(QEMU_EXTRA)" FIRMWARE=$(FIRMWARE) \
		ACPI=$(ACPI) tools/qemu.sh

# QEMU 10.0 (stage-2 SMMUv3) from Debian 13's source, cached outside the repo
# (tools/build-qemu10.sh): build/deps/qemu10/qemu-system-aarch64.
.PHONY: qemu10
qemu10:
	tools/build-qemu10.sh

# ---- tests ------------------------------------------------------------------
HOST_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-DTESSERA_HOST -I. $(HOST_ZSTD)
host_tests :=
include $(wildcard tests/host/*.mk)
HOST_BINS := $(patsubst %,$(B)/host/test_%,$(host_tests))
.SECONDEXPANSION:
$(B)/host/test_%: tests/host/test_%.c $$(host_srcs_$$*) $(STAMP) $$(wildcard */*.h */*/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $< $(host_srcs_$*) -o $@ -lcmocka $(host_libs_$*)

host-test: $(HOST_BINS) $(B)/snaptool
	@set -e; for t in $(HOST_BINS); do echo "== $$t"; $$t; done
	@echo "== tests/host/test_snaptool.py"; $(PYTHON) tests/host/test_snaptool.py $(B)/snaptool

qemu-test: $(B)/tessera.efi $(LINUX_KIT)/Image guests
	$(PYTHON) tests/qemu/run_tests.py

# No instruction in the linked image touches FP/SIMD/SVE registers outside
# the save/restore routines: they hold a loaded guest's state at EL2.
check-nofp: $(B)/tessera.so
	$(PYTHON) tools/check-nofp.py --self-test
	$(PYTHON) tools/check-nofp.py $(B)/tessera.so


# The snapshot reader under libFuzzer (tests/fuzz/fuzz_store.c) for
# FUZZ_TIME seconds, from seeds snaptool writes; new inputs it finds stay
# in build/fuzz/corpus for the next run, crashes go to build/fuzz/.
FUZZ_CC ?= clang-14
FUZZ_TIME ?= 20
FUZZ_SRCS := tests/fuzz/fuzz_store.c $(SNAP_SRCS) tools/snap/synth.c tests/host/snap_memdev.c
$(B)/fuzz/fuzz_store: $(FUZZ_SRCS) $(wildcard snapshot/*.h tools/snap/*.h tests/host/snap_memdev.h) | $(STAMP)
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Wall -Werror -Wno-unused-parameter -DTESSERA_HOST -I. $(HOST_ZSTD) $(FUZZ_SRCS) -o $@ \
		$(HOST_ZSTD_LIBS)
$(B)/fuzz/seeds/.done: $(B)/snaptool tests/fuzz/seeds.sh
	tests/fuzz/seeds.sh $(B)/snaptool $(dir $@)
	@touch $@
fuzz-test: $(B)/fuzz/fuzz_store $(B)/fuzz/seeds/.done
	@mkdir -p $(B)/fuzz/corpus
	$(B)/fuzz/fuzz_store -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix=$(B)/fuzz/ -print_final_stats=1 $(B)/fuzz/corpus $(B)/fuzz/seeds \
		2>&1 | grep -v '^#[0-9]'

test: check-nofp host-test fuzz-test qemu-test

bench: $(B)/tessera.efi $(LINUX_KIT)/Image guests
	$(PYTHON) tests/qemu/bench.py

# ---- hygiene ----------------------------------------------------------------
C_FILES = $(shell git ls-files '*.c' '*.h')
format:
	clang-format -i $(C_FILES)
format-check:
	clang-format --dry-run -Werror $(C_FILES)
cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -I. $(foreach d,$(TARGET_DIRS) tools/snap,$(d)/)

check-layers:
	$(PYTHON) tools/check-layers.py

# The README's commands on a fresh Debian 12 root made with debootstrap, on
# a clone of HEAD (tools/fresh-check.sh); FRESH_CMD='...' runs other commands.
.PHONY: fresh-check
FRESH_CMD ?= make test
fresh-check:
	tools/fresh-check.sh '$(FRESH_CMD)'

clean:
	rm -rf $(B)/obj $(B)/host $(B)/*.so $(B)/*.efi $(B)/ksyms* $(B)/esp
distclean:
	rm -rf $(B)

-include $(OBJS:.o=.d)
