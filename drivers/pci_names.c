/*
 * PCI class code names and BAR size decoding. Portable (no MMIO) so the host
 * unit tests cover it; names follow the PCI Code and ID Assignment spec,
 * worded like lspci.
 */
#include "drivers/drivers.h"

/* A class code matches when (class_code >> shift) == code: shift 0 matches
 * base/sub/prog-if, 8 base/sub, 16 the base class alone. */
struct class_name {
	uint32_t code;
	uint8_t shift;
	const char *name;
};

/* Most specific first: the first match wins. */
static const struct class_name class_names[] = {
    {0x010601, 0, "SATA controller (AHCI)"},
    {0x010802, 0, "NVM Express controller"},
    {0x0c0300, 0, "USB controller (UHCI)"},
    {0x0c0310, 0, "USB controller (OHCI)"},
    {0x0c0320, 0, "USB controller (EHCI)"},
    {0x0c0330, 0, "USB controller (xHCI)"},

    {0x0001, 8, "VGA compatible unclassified device"},
    {0x0100, 8, "SCSI storage controller"},
    {0x0101, 8, "IDE interface"},
    {0x0102, 8, "Floppy disk controller"},
    {0x0104, 8, "RAID bus controller"},
    {0x0105, 8, "ATA controller"},
    {0x0106, 8, "SATA controller"},
    {0x0107, 8, "Serial Attached SCSI controller"},
    {0x0108, 8, "Non-Volatile memory controller"},
    {0x0200, 8, "Ethernet controller"},
    {0x0280, 8, "Network controller"},
    {0x0300, 8, "VGA compatible controller"},
    {0x0302, 8, "3D controller"},
    {0x0380, 8, "Display controller"},
    {0x0401, 8, "Multimedia audio controller"},
    {0x0403, 8, "Audio device"},
    {0x0500, 8, "RAM memory"},
    {0x0501, 8, "FLASH memory"},
    {0x0600, 8, "Host bridge"},
    {0x0601, 8, "ISA bridge"},
    {0x0604, 8, "PCI-to-PCI bridge"},
    {0x0609, 8, "Semi-transparent PCI-to-PCI bridge"},
    {0x0700, 8, "Serial controller"},
    {0x0800, 8, "PIC"},
    {0x0801, 8, "DMA controller"},
    {0x0802, 8, "Timer"},
    {0x0803, 8, "RTC"},
    {0x0805, 8, "SD Host controller"},
    {0x0806, 8, "IOMMU"},
    {0x0900, 8, "Keyboard controller"},
    {0x0902, 8, "Mouse controller"},
    {0x0c00, 8, "FireWire (IEEE 1394)"},
    {0x0c03, 8, "USB controller"},
    {0x0c04, 8, "Fibre Channel"},
    {0x0c05, 8, "SMBus"},

    {0x00, 16, "Unclassified device"},
    {0x01, 16, "Mass storage controller"},
    {0x02, 16, "Network controller"},
    {0x03, 16, "Display controller"},
    {0x04, 16, "Multimedia controller"},
    {0x05, 16, "Memory controller"},
    {0x06, 16, "Bridge"},
    {0x07, 16, "Communication controller"},
    {0x08, 16, "Generic system peripheral"},
    {0x09, 16, "Input device controller"},
    {0x0a, 16, "Docking station"},
    {0x0b, 16, "Processor"},
    {0x0c, 16, "Serial bus controller"},
    {0x0d, 16, "Wireless controller"},
    {0x0e, 16, "Intelligent controller"},
    {0x0f, 16, "Satellite communications controller"},
    {0x10, 16, "Encryption controller"},
    {0x11, 16, "Signal processing controller"},
    {0x12, 16, "Processing accelerators"},
    {0x13, 16, "Non-Essential Instrumentation"},
    {0x40, 16, "Coprocessor"},
    {0xff, 16, "Unassigned class"},
};

const char *pci_class_name(uint32_t class_code)
{
	class_code &= 0xffffff;
	for (size_t i = 0; i < ARRAY_SIZE(class_names); i++) {
		const struct class_name *c = &class_names[i];
		if ((class_code >> c->shift) == c->code)
			return c->name;
	}
	return "unknown class";
}

/* The size is the lowest address bit the device lets software set: the
 * bits it hardwires to zero are the ones it decodes within the BAR. Taking
 * the lowest set bit (not ~mask + 1) also copes with IO BARs whose upper 16
 * bits read back as zero. */
uint64_t pci_bar_size(uint32_t probed_lo, uint32_t probed_hi, bool is_64, bool is_io)
{
	uint64_t mask = probed_lo & (is_io ? ~0x3u : ~0xfu); /* drop the flag bits */

	if (is_64 && !is_io)
		mask |= (uint64_t)probed_hi << 32;
	return mask & (~mask + 1);
}
