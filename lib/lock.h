/*
 * Ticket spinlocks. Waiters sleep in WFE, not spin: under QEMU's -icount
 * one thread runs all vCPUs round robin, and a spinning CPU would starve
 * the lock holder. spin_lock_irqsave also masks IRQs, for locks an
 * interrupt handler takes.
 */
#ifndef LIB_LOCK_H
#define LIB_LOCK_H

#include "lib/types.h"

struct spinlock {
	uint32_t next, owner;
};

#if defined(__aarch64__) && !defined(TESSERA_HOST)
#define lock_wait()   __asm__ volatile("wfe" ::: "memory")
#define lock_signal() __asm__ volatile("dsb ishst\n\tsev" ::: "memory")
static inline uint64_t lock_irq_save(void)
{
	uint64_t f;
	__asm__ volatile("mrs %0, daif\n\tmsr daifset, #2" : "=r"(f)::"memory");
	return f;
}
static inline void lock_irq_restore(uint64_t f)
{
	__asm__ volatile("msr daif, %0" ::"r"(f) : "memory");
}
#else /* host tests: one thread */
#define lock_wait()   ((void)0)
#define lock_signal() ((void)0)
static inline uint64_t lock_irq_save(void)
{
	return 0;
}
static inline void lock_irq_restore(uint64_t f)
{
	(void)f;
}
#endif

static inline void spin_lock(struct spinlock *l)
{
	uint32_t t = __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != t)
		lock_wait();
}
static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
	lock_signal();
}
static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags = lock_irq_save();
	spin_lock(l);
	return flags;
}
static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	spin_unlock(l);
	lock_irq_restore(flags);
}

#endif
