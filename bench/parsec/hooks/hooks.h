/* The region-of-interest hooks PARSEC's programs call when built with -DENABLE_PARSEC_HOOKS (the interface of
 * PARSEC's hooks library; this implementation is dqemu-native's own, see hooks.c). */
#ifndef DQEMU_PARSEC_HOOKS_H
#define DQEMU_PARSEC_HOOKS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The programs name themselves with these; only the five built in bench/parsec are listed. */
enum __parsec_benchmark {
    __parsec_blackscholes,
    __parsec_canneal,
    __parsec_fluidanimate,
    __parsec_streamcluster,
    __parsec_swaptions,
};

void __parsec_bench_begin(enum __parsec_benchmark which);
void __parsec_bench_end(void);
void __parsec_roi_begin(void);
void __parsec_roi_end(void);

#ifdef __cplusplus
}
#endif

#endif
