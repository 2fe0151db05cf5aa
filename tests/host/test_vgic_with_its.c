/* test_vgic.c's SGI/PPI/SPI and list-register tests again with an ITS
 * attached (no LPI mapped): LPI support changes nothing for them, except
 * the registers that show it (its.h), which test_vgic_its.c checks. */
#define VGIC_WITH_ITS
#include "test_vgic.c"
