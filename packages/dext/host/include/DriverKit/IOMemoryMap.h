/* Host runtime: IOMemoryMap, a dext-side mapping of a descriptor. */
#ifndef _DRIVERKIT_IOMEMORYMAP_H
#define _DRIVERKIT_IOMEMORYMAP_H

#include <DriverKit/IOMemoryDescriptor.h>

class IOMemoryMap : public OSObject {
public:
    uint64_t GetAddress();
    uint64_t GetLength();
    uint64_t GetOffset();

    /* Host only. */
    static IOMemoryMap *HostCreate(IOMemoryDescriptor *memory, uint64_t offset, uint64_t length);

protected:
    void free() override;

private:
    IOMemoryDescriptor *memory = nullptr;
    uint64_t offset = 0;
    uint64_t length = 0;
};

#endif
