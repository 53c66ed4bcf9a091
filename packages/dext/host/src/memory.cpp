// Host runtime: memory descriptors. An IOBufferMemoryDescriptor is a memfd mapped once for the dext;
// a client mapping (IOConnectMapMemory64) maps the same pages again with its own protection.
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOMemoryMap.h>

#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

namespace {

uint64_t PageRound(uint64_t size)
{
    uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    return (size + page - 1) / page * page;
}

} // namespace

IOMemoryDescriptor::IOMemoryDescriptor()
{
    gHostLive.descriptors++;
}

IOMemoryDescriptor::~IOMemoryDescriptor()
{
    gHostLive.descriptors--;
}

void IOMemoryDescriptor::free()
{
    OSObject::free();
}

IOMemoryDescriptor *IOMemoryDescriptor::HostWithAddress(void *address, uint64_t length, uint64_t direction)
{
    IOMemoryDescriptor *memory = new IOMemoryDescriptor;
    memory->address = static_cast<uint8_t *>(address);
    memory->length = length;
    memory->direction = direction;
    if (!memory->init()) {
        memory->release();
        return nullptr;
    }
    return memory;
}

kern_return_t IOMemoryDescriptor::GetLength(uint64_t *returnLength)
{
    if (returnLength == nullptr) {
        return kIOReturnBadArgument;
    }
    *returnLength = length;
    return kIOReturnSuccess;
}

kern_return_t IOMemoryDescriptor::CreateMapping(uint64_t options, uint64_t mapAddress, uint64_t offset,
                                                uint64_t mapLength, uint64_t alignment, IOMemoryMap **map,
                                                OSDispatchMethod)
{
    // The dext sees the bytes where the host runtime keeps them; fixed addresses are not offered.
    if (map == nullptr || mapAddress != 0 || alignment != 0 ||
        (options & ~static_cast<uint64_t>(kIOMemoryMapReadOnly)) != 0 || offset > length) {
        return kIOReturnBadArgument;
    }
    if (mapLength == 0) {
        mapLength = length - offset;
    }
    if (mapLength > length - offset) {
        return kIOReturnBadArgument;
    }
    *map = IOMemoryMap::HostCreate(this, offset, mapLength);
    return *map != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IOBufferMemoryDescriptor::Create(uint64_t options, uint64_t capacity, uint64_t alignment,
                                               IOBufferMemoryDescriptor **memory)
{
    if (memory == nullptr || capacity == 0 || (options & ~static_cast<uint64_t>(kIOMemoryDirectionInOut)) != 0 ||
        (alignment & (alignment - 1)) != 0 || alignment > static_cast<uint64_t>(sysconf(_SC_PAGESIZE))) {
        return kIOReturnBadArgument;
    }
    IOBufferMemoryDescriptor *buffer = new IOBufferMemoryDescriptor;
    buffer->direction = options & kIOMemoryDirectionInOut;
    buffer->capacity = capacity;
    buffer->length = capacity;
    buffer->mappedSize = PageRound(capacity);
    buffer->fd = memfd_create("IOBufferMemoryDescriptor", MFD_CLOEXEC);
    void *address = MAP_FAILED;
    if (buffer->fd >= 0 && ftruncate(buffer->fd, static_cast<off_t>(buffer->mappedSize)) == 0) {
        address = mmap(nullptr, buffer->mappedSize, PROT_READ | PROT_WRITE, MAP_SHARED, buffer->fd, 0);
    }
    if (address == MAP_FAILED || !buffer->init()) {
        buffer->release();
        return kIOReturnNoMemory;
    }
    buffer->address = static_cast<uint8_t *>(address);
    *memory = buffer;
    return kIOReturnSuccess;
}

kern_return_t IOBufferMemoryDescriptor::GetAddressRange(IOAddressSegment *range)
{
    if (range == nullptr) {
        return kIOReturnBadArgument;
    }
    range->address = reinterpret_cast<uint64_t>(address);
    range->length = length;
    return kIOReturnSuccess;
}

kern_return_t IOBufferMemoryDescriptor::SetLength(uint64_t newLength, OSDispatchMethod)
{
    if (newLength > capacity) {
        return kIOReturnBadArgument;
    }
    length = newLength;
    return kIOReturnSuccess;
}

void IOBufferMemoryDescriptor::free()
{
    if (address != nullptr) {
        munmap(address, mappedSize);
        address = nullptr;
    }
    if (fd >= 0) {
        close(fd);
        fd = -1;
    }
    IOMemoryDescriptor::free();
}

IOMemoryMap *IOMemoryMap::HostCreate(IOMemoryDescriptor *memory, uint64_t offset, uint64_t length)
{
    IOMemoryMap *map = new IOMemoryMap;
    if (!map->init()) {
        map->release();
        return nullptr;
    }
    memory->retain();
    map->memory = memory;
    map->offset = offset;
    map->length = length;
    gHostLive.mappings++;
    return map;
}

uint64_t IOMemoryMap::GetAddress()
{
    return reinterpret_cast<uint64_t>(memory->HostAddress() + offset);
}

uint64_t IOMemoryMap::GetLength()
{
    return length;
}

uint64_t IOMemoryMap::GetOffset()
{
    return offset;
}

void IOMemoryMap::free()
{
    if (memory != nullptr) {
        OSSafeReleaseNULL(memory);
        gHostLive.mappings--;
    }
    OSObject::free();
}
