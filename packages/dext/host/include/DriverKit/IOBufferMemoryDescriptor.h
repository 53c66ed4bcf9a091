/* Host runtime: IOBufferMemoryDescriptor, backed by a memfd so that a client mapping is a real,
 * separately protected mapping of the same pages. */
#ifndef _DRIVERKIT_IOBUFFERMEMORYDESCRIPTOR_H
#define _DRIVERKIT_IOBUFFERMEMORYDESCRIPTOR_H

#include <DriverKit/IOMemoryDescriptor.h>

class IOBufferMemoryDescriptor : public IOMemoryDescriptor {
public:
    static kern_return_t Create(uint64_t options, uint64_t capacity, uint64_t alignment,
                                IOBufferMemoryDescriptor **memory);
    kern_return_t GetAddressRange(IOAddressSegment *range);
    kern_return_t SetLength(uint64_t length, OSDispatchMethod supermethod = NULL);

protected:
    void free() override;

private:
    uint64_t capacity = 0;
    uint64_t mappedSize = 0;
};

#endif
