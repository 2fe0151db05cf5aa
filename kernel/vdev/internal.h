/*
 * Shared between the vuart*.c files only: the register widths and the
 * helpers a restore needs to leave the device as its own entry points do.
 */
#ifndef KERNEL_VDEV_INTERNAL_H
#define KERNEL_VDEV_INTERNAL_H

#include "kernel/vdev/vuart.h"

/* Bits each register holds (what a write keeps, what a restore accepts). */
#define VUART_RSR_OE	 BIT(3) /* UARTRSR: the only error the model raises */
#define VUART_ILPR_MASK	 0xffu
#define VUART_IBRD_MASK	 0xffffu
#define VUART_FBRD_MASK	 0x3fu
#define VUART_LCR_H_MASK 0xffu
#define VUART_CR_MASK	 0xff87u
#define VUART_IFLS_MASK	 0x3fu
#define VUART_DMACR_MASK 0x7u
#define VUART_INT_ALL	 0x7ffu /* UARTIMSC, UARTRIS */

/* Calls irq() if the line ((RIS & IMSC) != 0, connected) changed. */
void vuart_update_irq(struct vuart *u);
/* If the console was told "full" and there is room now, tells it (once). */
void vuart_rx_room(struct vuart *u);
/* Hands the partial output line to out() and empties it. */
void vuart_emit_line(struct vuart *u);

#endif
