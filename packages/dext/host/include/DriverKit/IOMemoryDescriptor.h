/*
 * Host runtime: IOMemoryDescriptor (xnu iokit/DriverKit/IOMemoryDescriptor.iig). DriverKit 20 and
 * later has sub-range (CreateSubMemoryDescriptor) and joined (CreateWithMemoryDescriptors)
 * descriptors, and IOUserClient::CreateMemoryDescriptorFromClient; the host models all three.
 * A descriptor is contiguous in this process (HostAddress() != nullptr: plain, buffer, a sub-range
 * that lies in one piece of its parent, client memory of one segment) or not (a joined descriptor,
 * client memory of several segments: HostAddress() is nullptr, CreateMapping is not modeled and
 * returns kIOReturnUnsupported). HostSegments lists the bytes of any descriptor.
 */
#ifndef _DRIVERKIT_IOMEMORYDESCRIPTOR_H
#define _DRIVERKIT_IOMEMORYDESCRIPTOR_H

#include <DriverKit/OSObject.h>
#include <DriverKit/IOTypes.h>

class IOMemoryMap;

class IOMemoryDescriptor : public OSObject {
public:
    kern_return_t GetLength(uint64_t *returnLength);
    kern_return_t CreateMapping(uint64_t options, uint64_t address, uint64_t offset, uint64_t length,
                                uint64_t alignment, IOMemoryMap **map,
                                OSDispatchMethod supermethod = NULL);

    /* DriverKit 20. The result retains ofDescriptor for its life. */
    static kern_return_t CreateSubMemoryDescriptor(uint64_t memoryDescriptorCreateOptions, uint64_t offset,
                                                   uint64_t length, IOMemoryDescriptor *ofDescriptor,
                                                   IOMemoryDescriptor **memory);
    /* DriverKit 20. Up to 32 descriptors joined end to end; the result retains each of them. */
    static kern_return_t CreateWithMemoryDescriptors(uint64_t memoryDescriptorCreateOptions,
                                                     uint32_t withDescriptorsCount,
                                                     IOMemoryDescriptor *const withDescriptors[32],
                                                     IOMemoryDescriptor **memory);

    /* Host only. Wrap memory owned by someone else (a client's structure buffer). */
    static IOMemoryDescriptor *HostWithAddress(void *address, uint64_t length, uint64_t direction);
    /* Host only. Several ranges of this process's memory, not contiguous (client memory). */
    static IOMemoryDescriptor *HostWithSegments(const IOAddressSegment *segments, uint32_t count,
                                                uint64_t direction);
    /* The bytes' address in this process, or nullptr if they are not contiguous. */
    uint8_t *HostAddress() const { return address; }
    uint64_t HostLength() const { return length; }
    uint64_t HostDirection() const { return direction; }
    /* A file descriptor that maps the bytes (IOBufferMemoryDescriptor), or -1. */
    int HostFD() const { return fd; }
    /* The pieces of this process's memory that hold the bytes, in order (zero-length pieces are
     * left out). Writes at most max of them and returns how many there are. */
    size_t HostSegments(IOAddressSegment *segments, size_t max) const;
    /* Copy between the descriptor's bytes at offset and a local buffer, whatever its shape.
     * They return the number of bytes copied (less than length at the end of the descriptor). */
    uint64_t HostReadBytes(uint64_t offset, void *bytes, uint64_t length) const;
    uint64_t HostWriteBytes(uint64_t offset, const void *bytes, uint64_t length);
    typedef void (*HostSegmentVisitor)(void *context, uint8_t *address, uint64_t length);
    /* Visit, in order, the pieces of memory behind [offset, offset + length) of this descriptor
     * (the range is within the descriptor). The default is the contiguous bytes at address. */
    virtual void HostVisitSegments(uint64_t offset, uint64_t length, HostSegmentVisitor visit,
                                   void *context) const;

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
