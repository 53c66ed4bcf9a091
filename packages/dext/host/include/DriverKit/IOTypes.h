/* Host runtime: DriverKit base types. */
#ifndef _DRIVERKIT_IOTYPES_H
#define _DRIVERKIT_IOTYPES_H

#include <stddef.h>
#include <stdint.h>
#include <DriverKit/IOReturn.h>

typedef uint32_t IOOptionBits;
typedef uint64_t IOVirtualAddress;
typedef char IOServiceName[128];
typedef char IOPropertyName[128];
typedef char IODispatchQueueName[256];

struct IOAddressSegment {
    uint64_t address;
    uint64_t length;
};

enum {
    kIOMemoryDirectionIn = 0x00000001,
    kIOMemoryDirectionOut = 0x00000002,
    kIOMemoryDirectionOutIn = 0x00000003,
    kIOMemoryDirectionInOut = 0x00000003,
    kIOMemoryDisableCopyOnWrite = 0x00000010,
};

enum {
    kIOMemoryMapFixedAddress = 0x00000001,
    kIOMemoryMapReadOnly = 0x00000002,
};

#endif
