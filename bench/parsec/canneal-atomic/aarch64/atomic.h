/*
 * AArch64 port of canneal's atomic layer (src/atomic/<arch>/atomic.h), written for dqemu-native's
 * PARSEC guests; not taken from PARSEC or FreeBSD. PARSEC 3.0 ships this layer for i386, amd64,
 * powerpc, sparc, ia64 and alpha only. bench/parsec/build.sh copies this file to
 * atomic/aarch64/atomic.h in canneal's build copy, and patches/canneal-aarch64-atomic.patch makes
 * atomic/atomic.h include it on __aarch64__.
 *
 * Same interface as the other ports (FreeBSD's atomic(9) names: atomic_<op>[_acq|_rel]_<type>),
 * implemented with GCC's __atomic builtins so that the compiler picks LDXR/STXR loops or LSE
 * instructions (with -moutline-atomics, GCC 10+'s default, at run time from HWCAP_ATOMICS).
 *
 * Memory orders: the amd64 port's read-modify-writes are LOCK-prefixed, i.e. full barriers, and
 * canneal's AtomicPtr builds its Checkout/Swap "lock" on atomic_cmpset_ptr, so every
 * read-modify-write here is sequentially consistent; atomic_load_acq_* is an acquire load
 * (LDAR) and atomic_store_rel_* a release store (STLR), which is what their names promise and
 * what a weakly ordered AArch64 needs (plain loads and stores would not order the pointed-to data).
 * The _acq/_rel variants of the read-modify-writes are the same sequentially consistent
 * operations (stronger than asked, as on amd64).
 */
#ifndef _MACHINE_ATOMIC_H_
#define _MACHINE_ATOMIC_H_

#define _AARCH64_ATOMIC_OPS(TYPE)                                                        \
static __inline void atomic_set_##TYPE(volatile u_##TYPE *p, u_##TYPE v)                 \
{ __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }                                           \
static __inline void atomic_clear_##TYPE(volatile u_##TYPE *p, u_##TYPE v)               \
{ __atomic_fetch_and(p, (u_##TYPE)~v, __ATOMIC_SEQ_CST); }                               \
static __inline void atomic_add_##TYPE(volatile u_##TYPE *p, u_##TYPE v)                 \
{ __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }                                          \
static __inline void atomic_subtract_##TYPE(volatile u_##TYPE *p, u_##TYPE v)            \
{ __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }                                          \
/* if (*p == e) { *p = s; return non-zero; } else return 0; atomically */               \
static __inline int atomic_cmpset_##TYPE(volatile u_##TYPE *p, u_##TYPE e, u_##TYPE s)   \
{ return __atomic_compare_exchange_n(p, &e, s, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); } \
static __inline u_##TYPE atomic_load_acq_##TYPE(volatile u_##TYPE *p)                    \
{ return __atomic_load_n(p, __ATOMIC_ACQUIRE); }                                         \
static __inline void atomic_store_rel_##TYPE(volatile u_##TYPE *p, u_##TYPE v)           \
{ __atomic_store_n(p, v, __ATOMIC_RELEASE); }                                            \
static __inline u_##TYPE atomic_readandclear_##TYPE(volatile u_##TYPE *p)                \
{ return __atomic_exchange_n(p, (u_##TYPE)0, __ATOMIC_SEQ_CST); }                        \
struct __hack

_AARCH64_ATOMIC_OPS(char);
_AARCH64_ATOMIC_OPS(short);
_AARCH64_ATOMIC_OPS(int);
_AARCH64_ATOMIC_OPS(long);

#undef _AARCH64_ATOMIC_OPS

/* Return the previous value of *p and add v (resp. subtract v) to it, atomically. */
static __inline u_int atomic_fetchadd_int(volatile u_int *p, u_int v)
{ return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
static __inline u_int atomic_fetchsubtract_int(volatile u_int *p, int v)
{ return __atomic_fetch_sub(p, (u_int)v, __ATOMIC_SEQ_CST); }

/* Acquire/release variants of the read-modify-writes: the same full-barrier operations. */
#define atomic_set_acq_char      atomic_set_char
#define atomic_set_rel_char      atomic_set_char
#define atomic_clear_acq_char    atomic_clear_char
#define atomic_clear_rel_char    atomic_clear_char
#define atomic_add_acq_char      atomic_add_char
#define atomic_add_rel_char      atomic_add_char
#define atomic_subtract_acq_char atomic_subtract_char
#define atomic_subtract_rel_char atomic_subtract_char
#define atomic_cmpset_acq_char   atomic_cmpset_char
#define atomic_cmpset_rel_char   atomic_cmpset_char

#define atomic_set_acq_short      atomic_set_short
#define atomic_set_rel_short      atomic_set_short
#define atomic_clear_acq_short    atomic_clear_short
#define atomic_clear_rel_short    atomic_clear_short
#define atomic_add_acq_short      atomic_add_short
#define atomic_add_rel_short      atomic_add_short
#define atomic_subtract_acq_short atomic_subtract_short
#define atomic_subtract_rel_short atomic_subtract_short
#define atomic_cmpset_acq_short   atomic_cmpset_short
#define atomic_cmpset_rel_short   atomic_cmpset_short

#define atomic_set_acq_int      atomic_set_int
#define atomic_set_rel_int      atomic_set_int
#define atomic_clear_acq_int    atomic_clear_int
#define atomic_clear_rel_int    atomic_clear_int
#define atomic_add_acq_int      atomic_add_int
#define atomic_add_rel_int      atomic_add_int
#define atomic_subtract_acq_int atomic_subtract_int
#define atomic_subtract_rel_int atomic_subtract_int
#define atomic_cmpset_acq_int   atomic_cmpset_int
#define atomic_cmpset_rel_int   atomic_cmpset_int

#define atomic_set_acq_long      atomic_set_long
#define atomic_set_rel_long      atomic_set_long
#define atomic_clear_acq_long    atomic_clear_long
#define atomic_clear_rel_long    atomic_clear_long
#define atomic_add_acq_long      atomic_add_long
#define atomic_add_rel_long      atomic_add_long
#define atomic_subtract_acq_long atomic_subtract_long
#define atomic_subtract_rel_long atomic_subtract_long
#define atomic_cmpset_acq_long   atomic_cmpset_long
#define atomic_cmpset_rel_long   atomic_cmpset_long

/* Sized names: char/short/int/long are 8/16/32/64 bits on AArch64 Linux (LP64). */
#define atomic_set_8            atomic_set_char
#define atomic_clear_8          atomic_clear_char
#define atomic_add_8            atomic_add_char
#define atomic_subtract_8       atomic_subtract_char
#define atomic_load_acq_8       atomic_load_acq_char
#define atomic_store_rel_8      atomic_store_rel_char

#define atomic_set_16           atomic_set_short
#define atomic_clear_16         atomic_clear_short
#define atomic_add_16           atomic_add_short
#define atomic_subtract_16      atomic_subtract_short
#define atomic_load_acq_16      atomic_load_acq_short
#define atomic_store_rel_16     atomic_store_rel_short

#define atomic_set_32           atomic_set_int
#define atomic_clear_32         atomic_clear_int
#define atomic_add_32           atomic_add_int
#define atomic_subtract_32      atomic_subtract_int
#define atomic_load_acq_32      atomic_load_acq_int
#define atomic_store_rel_32     atomic_store_rel_int
#define atomic_cmpset_32        atomic_cmpset_int
#define atomic_cmpset_acq_32    atomic_cmpset_int
#define atomic_cmpset_rel_32    atomic_cmpset_int
#define atomic_readandclear_32  atomic_readandclear_int
#define atomic_fetchadd_32      atomic_fetchadd_int
#define atomic_fetchsubtract_32 atomic_fetchsubtract_int

#define atomic_set_64           atomic_set_long
#define atomic_clear_64         atomic_clear_long
#define atomic_add_64           atomic_add_long
#define atomic_subtract_64      atomic_subtract_long
#define atomic_load_acq_64      atomic_load_acq_long
#define atomic_store_rel_64     atomic_store_rel_long
#define atomic_cmpset_64        atomic_cmpset_long
#define atomic_cmpset_acq_64    atomic_cmpset_long
#define atomic_cmpset_rel_64    atomic_cmpset_long
#define atomic_readandclear_64  atomic_readandclear_long

/* Pointers are 64 bits: canneal's AtomicPtr passes them as (unsigned long *). */
#define atomic_set_ptr          atomic_set_long
#define atomic_clear_ptr        atomic_clear_long
#define atomic_add_ptr          atomic_add_long
#define atomic_subtract_ptr     atomic_subtract_long
#define atomic_load_acq_ptr     atomic_load_acq_long
#define atomic_store_rel_ptr    atomic_store_rel_long
#define atomic_cmpset_ptr       atomic_cmpset_long
#define atomic_cmpset_acq_ptr   atomic_cmpset_long
#define atomic_cmpset_rel_ptr   atomic_cmpset_long
#define atomic_readandclear_ptr atomic_readandclear_long

#endif /* !_MACHINE_ATOMIC_H_ */
