/*
 * Host runtime: <mach/mach_time.h>. Plain C. The host's timebase is Apple silicon's 24 MHz tick
 * (numer 125, denom 3), not 1:1, so that code which forgets to convert mach_absolute_time() ticks
 * (and completionTimestamp) to nanoseconds is visibly wrong here too:
 * nanoseconds = ticks * numer / denom.
 */
#ifndef _MACH_MACH_TIME_H_
#define _MACH_MACH_TIME_H_

#include <stdint.h>
#include <DriverKit/IOReturn.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mach_timebase_info {
    uint32_t numer;
    uint32_t denom;
};
typedef struct mach_timebase_info mach_timebase_info_data_t;
typedef struct mach_timebase_info *mach_timebase_info_t;

/* Ticks of a monotonic clock (steady_clock), which does not advance while the system sleeps. */
uint64_t mach_absolute_time(void);
kern_return_t mach_timebase_info(mach_timebase_info_t info);

#ifdef __cplusplus
}
#endif

#endif
