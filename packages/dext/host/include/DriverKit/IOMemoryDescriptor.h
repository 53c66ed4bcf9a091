/* Host runtime: IOMemoryDescriptor. There is no sub- or multi-descriptor, as in DriverKit. */
#ifndef _DRIVERKIT_IOMEMORYDESCRIPTOR_H
#define _DRIVERKIT_IOMEMORYDESCRIPTOR_H

#include <DriverKit/OSObject.h>

class IOMemoryMap;

class IOMemoryDescriptor : public OSObject {
public:
    kern_return_t GetLength(uint64_t *returnLength);
    kern_return_t CreateMapping(uint64_t options, uint64_t address, uint64_t offset, uint64_t length,
                                uint64_t alignment, IOMemoryMap **map,
                                OSDispatchMethod supermethod = NULL);

    /* Host only. Wrap memory owned by someone else (a client's structure buffer). */
    static IOMemoryDescriptor *HostWithAddress(void *address, uint64_t length, uint64_t direction);
    uint8_t *HostAddress() const { return address; }
    uint64_t HostLength() const { return length; }
    uint64_t HostDirection() const { return direction; }
    /* A file descriptor that maps the bytes (IOBufferMemoryDescriptor), or -1. */
    int HostFD() const { return fd; }

protected:
    IOMemoryDescriptor();
    ~IOMemoryDescriptor() override;
    void free() override;

    uint8_t *address = nullptr;
    uint64_t length = 0;
    uint64_t direction = 0;
    int fd = -1;
};

#endif
