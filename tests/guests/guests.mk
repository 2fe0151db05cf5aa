# Bare-metal test guests (tests/guests/). Included by the top Makefile, or
# standalone: make -f tests/guests/guests.mk guests
#   guests                 build $(B)/guests/tguest.elf
#   guests-qemu            run it on bare QEMU virt (no hypervisor):
#                          TGUEST_MODE=all|reset|idle|bench, TGUEST_SMP=2,
#                          TGUEST_MEM=256 (MiB),
#                          TGUEST_QEMU_EXTRA='-icount shift=0,align=off'
#   guests-clean           remove $(B)/guests

CROSS ?= aarch64-linux-gnu-
B     ?= build

# Keep the includer's default goal (this file only adds targets).
guests_saved_goal := $(.DEFAULT_GOAL)

GUEST_CC  := $(CROSS)gcc
GUEST_OUT := $(B)/guests
GUEST_Q   := $(if $(V),,@)

# MMU off in the guest means Device memory everywhere: -mstrict-align.
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -nostdlib -static -fno-pie -fno-pic -fno-stack-protector \
	-mgeneral-regs-only -mstrict-align -mno-outline-atomics \
	-fno-tree-loop-distribute-patterns \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -Wl,-T,tests/guests/guest.lds

TGUEST_SRCS  := $(wildcard tests/guests/tguest/*.c tests/guests/tguest/*.S)
TGUEST_COBJS := $(patsubst tests/guests/%.c,$(GUEST_OUT)/%.o,$(filter %.c,$(TGUEST_SRCS)))
TGUEST_SOBJS := $(patsubst tests/guests/%.S,$(GUEST_OUT)/%.o,$(filter %.S,$(TGUEST_SRCS)))
TGUEST_OBJS  := $(TGUEST_SOBJS) $(TGUEST_COBJS)

.PHONY: guests guests-qemu guests-clean
guests: $(GUEST_OUT)/tguest.elf

$(GUEST_OUT)/tguest.elf: $(TGUEST_OBJS) tests/guests/guest.lds
	@echo "  LD      $@"
	$(GUEST_Q)$(GUEST_CC) $(GUEST_LDFLAGS) $(TGUEST_OBJS) -o $@

$(TGUEST_COBJS): $(GUEST_OUT)/%.o: tests/guests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(GUEST_Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

# SVE instructions in sve.c's asm; the compiler itself still uses general
# registers only (-mgeneral-regs-only stays).
$(GUEST_OUT)/tguest/sve.o: GUEST_CFLAGS += -march=armv8.2-a+sve

$(TGUEST_SOBJS): $(GUEST_OUT)/%.o: tests/guests/%.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	$(GUEST_Q)$(GUEST_CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# Bare QEMU virt has the guest machine model's layout, with PSCI over HVC.
# For an ELF -kernel QEMU passes no DTB in x0, and its own 1 MiB DTB does
# not fit below 0x40080000; a packed copy given with -dtb does, at the start
# of RAM, where tguest looks next (with /chosen/bootargs from -append).
TGUEST_MODE ?= all
TGUEST_SMP  ?= 2
TGUEST_MEM  ?= 256
TGUEST_QEMU_EXTRA ?=
# bytes: -cpu max's longest SVE vector length (sve.c checks it)
TGUEST_SVE  ?= 256
GUEST_QEMU = qemu-system-aarch64 -M virt,gic-version=3 -cpu max,pauth-impdef=on \
	-smp $(TGUEST_SMP) -m $(TGUEST_MEM) -nographic
GUEST_DTB  = $(GUEST_OUT)/virt-smp$(TGUEST_SMP)-$(TGUEST_MEM)M.dtb

$(GUEST_OUT)/virt-smp%.dtb:
	@mkdir -p $(dir $@)
	$(GUEST_QEMU) -machine dumpdtb=$@.full >/dev/null 2>&1
	dtc -q -I dtb -O dtb -o $@ $@.full
	rm -f $@.full

guests-qemu: $(GUEST_OUT)/tguest.elf $(GUEST_DTB)
	$(GUEST_QEMU) -kernel $< -dtb $(GUEST_DTB) -append "tguest.mode=$(TGUEST_MODE) tguest.sve=$(TGUEST_SVE)" \
		$(TGUEST_QEMU_EXTRA)

guests-clean:
	rm -rf $(GUEST_OUT)

-include $(TGUEST_OBJS:.o=.d)

# Included: the includer's first target stays the default. Alone: guests.
ifneq ($(notdir $(firstword $(MAKEFILE_LIST))),guests.mk)
.DEFAULT_GOAL := $(guests_saved_goal)
endif
