/* Emulated PL011 (placeholder header: the model is being written). */
#ifndef KERNEL_VUART_H
#define KERNEL_VUART_H

#include "arch/arm64/types.h"

struct vuart {
	void (*out)(void *ctx, const char *line, size_t n);
	void (*irq)(void *ctx, bool level);
	void *ctx;
};

void vuart_init(struct vuart *u, void (*out)(void *ctx, const char *line, size_t n),
		void (*irq)(void *ctx, bool level), void *ctx);
int vuart_access(struct vuart *u, uint64_t off, unsigned size, bool write, uint64_t *val);
bool vuart_rx(struct vuart *u, char c);
void vuart_flush(struct vuart *u);
void vuart_reset(struct vuart *u);

#endif
