/* Host runtime: allocation helpers with DriverKit's names. */
#ifndef _DRIVERKIT_IOLIB_H
#define _DRIVERKIT_IOLIB_H

#include <stdlib.h>
#include <string.h>
#include <DriverKit/IOTypes.h>

#define IONew(type, count) ((type *)calloc((count), sizeof(type)))
#define IONewZero(type, count) ((type *)calloc((count), sizeof(type)))
#define IODelete(ptr, type, count) ::free(ptr)
#define IOSafeDeleteNULL(ptr, type, count) \
    do {                                   \
        if (NULL != (ptr)) {               \
            ::free(ptr);                   \
            (ptr) = NULL;                  \
        }                                  \
    } while (0)

#ifdef __cplusplus
extern "C" {
#endif
void IOLog(const char *format, ...) __attribute__((format(printf, 1, 2)));
void IOSleep(uint64_t milliseconds);
#ifdef __cplusplus
}
#endif

#endif
