// Host runtime: memory descriptors. An IOBufferMemoryDescriptor is a memfd mapped once for the dext;
// a client mapping (IOConnectMapMemory64) maps the same pages again with its own protection.
// Sub-range and joined descriptors (DriverKit 20) follow xnu's IOSubMemoryDescriptor and
// IOMultiMemoryDescriptor: they keep references to the descriptors they describe.
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOMemoryMap.h>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "internal.h"

namespace {

uint64_t PageRound(uint64_t size)
{
    uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    return (size + page - 1) / page * page;
}

// The direction bits DriverKit takes in memoryDescriptorCreateOptions (kIOMemoryDirectionOutIn).
constexpr uint64_t kHostDirectionMask = kIOMemoryDirectionOutIn;
// DriverKit's withDescriptors array and CreateMemoryDescriptorFromClient's segments hold 32.
constexpr uint32_t kHostMaxParts = 32;

// A sub-range of another descriptor (xnu IOSubMemoryDescriptor).
class HostSubMemoryDescriptor final : public IOMemoryDescriptor {
public:
    static HostSubMemoryDescriptor *Create(IOMemoryDescriptor *parent, uint64_t offset, uint64_t length,
                                           uint64_t direction);
    void HostVisitSegments(uint64_t offset, uint64_t length, HostSegmentVisitor visit,
                           void *context) const override;

protected:
    void free() override;

private:
    IOMemoryDescriptor *parent = nullptr;  // retained
    uint64_t start = 0;
};

// Descriptors joined end to end (xnu IOMultiMemoryDescriptor).
class HostMultiMemoryDescriptor final : public IOMemoryDescriptor {
public:
    static HostMultiMemoryDescriptor *Create(IOMemoryDescriptor *const *parts, uint32_t count, uint64_t direction);
    void HostVisitSegments(uint64_t offset, uint64_t length, HostSegmentVisitor visit,
                           void *context) const override;

protected:
    void free() override;

private:
    IOMemoryDescriptor *parts[kHostMaxParts] = {};  // retained
    uint64_t partLengths[kHostMaxParts] = {};       // as at creation, like the total length
    uint32_t count = 0;
};

// Several ranges of this process's memory (client memory of more than one segment).
class HostSegmentsMemoryDescriptor final : public IOMemoryDescriptor {
public:
    static HostSegmentsMemoryDescriptor *Create(const IOAddressSegment *segments, uint32_t count,
                                                uint64_t direction);
    void HostVisitSegments(uint64_t offset, uint64_t length, HostSegmentVisitor visit,
                           void *context) const override;

private:
    IOAddressSegment segments[kHostMaxParts] = {};
    uint32_t count = 0;
};

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

IOMemoryDescriptor *IOMemoryDescriptor::HostWithSegments(const IOAddressSegment *segments, uint32_t count,
                                                         uint64_t direction)
{
    return HostSegmentsMemoryDescriptor::Create(segments, count, direction);
}

void IOMemoryDescriptor::HostVisitSegments(uint64_t offset, uint64_t visitLength, HostSegmentVisitor visit,
                                           void *context) const
{
    if (visitLength > 0) {
        visit(context, address + offset, visitLength);
    }
}

size_t IOMemoryDescriptor::HostSegments(IOAddressSegment *segments, size_t max) const
{
    struct Collect {
        IOAddressSegment *segments;
        size_t max;
        size_t count;
    } collect = { segments, max, 0 };
    HostVisitSegments(0, length, [](void *context, uint8_t *segmentAddress, uint64_t segmentLength) {
        Collect *c = static_cast<Collect *>(context);
        if (c->count < c->max && c->segments != nullptr) {
            c->segments[c->count] = { reinterpret_cast<uint64_t>(segmentAddress), segmentLength };
        }
        c->count++;
    }, &collect);
    return collect.count;
}

namespace {

struct HostCopy {
    uint8_t *local;
    bool toDescriptor;
};

void HostCopySegment(void *context, uint8_t *segmentAddress, uint64_t segmentLength)
{
    HostCopy *copy = static_cast<HostCopy *>(context);
    if (copy->toDescriptor) {
        memcpy(segmentAddress, copy->local, segmentLength);
    } else {
        memcpy(copy->local, segmentAddress, segmentLength);
    }
    copy->local += segmentLength;
}

} // namespace

uint64_t IOMemoryDescriptor::HostReadBytes(uint64_t offset, void *bytes, uint64_t readLength) const
{
    if (bytes == nullptr || offset >= length) {
        return 0;
    }
    readLength = std::min(readLength, length - offset);
    HostCopy copy = { static_cast<uint8_t *>(bytes), false };
    HostVisitSegments(offset, readLength, HostCopySegment, &copy);
    return readLength;
}

uint64_t IOMemoryDescriptor::HostWriteBytes(uint64_t offset, const void *bytes, uint64_t writeLength)
{
    if (bytes == nullptr || offset >= length) {
        return 0;
    }
    writeLength = std::min(writeLength, length - offset);
    HostCopy copy = { static_cast<uint8_t *>(const_cast<void *>(bytes)), true };
    HostVisitSegments(offset, writeLength, HostCopySegment, &copy);
    return writeLength;
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
    // Not modeled: mapping bytes that are not contiguous here (a joined descriptor, client memory
    // of several segments). macOS maps them; the host would have to remap pages.
    if (address == nullptr) {
        return kIOReturnUnsupported;
    }
    *map = IOMemoryMap::HostCreate(this, offset, mapLength);
    return *map != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IOMemoryDescriptor::CreateSubMemoryDescriptor(uint64_t memoryDescriptorCreateOptions, uint64_t offset,
                                                            uint64_t subLength, IOMemoryDescriptor *ofDescriptor,
                                                            IOMemoryDescriptor **memory)
{
    // xnu IOMemoryDescriptor::CreateSubMemoryDescriptor_Impl: the same checks, in this order.
    uint64_t end = 0;
    if (ofDescriptor == nullptr || memory == nullptr) {
        return kIOReturnBadArgument;
    }
    if ((memoryDescriptorCreateOptions & ~kHostDirectionMask) != 0) {
        return kIOReturnBadArgument;
    }
    if (__builtin_add_overflow(offset, subLength, &end) || end > ofDescriptor->length) {
        return kIOReturnBadArgument;
    }
    // xnu keeps the options as the sub-descriptor's direction, and 0 (kIODirectionNone) makes its
    // prepare() fall through to the parent's direction; the host's transfer checks read
    // HostDirection(), so 0 takes the parent's.
    uint64_t subDirection = memoryDescriptorCreateOptions & kHostDirectionMask;
    if (subDirection == 0) {
        subDirection = ofDescriptor->direction;
    }
    *memory = HostSubMemoryDescriptor::Create(ofDescriptor, offset, subLength, subDirection);
    return *memory != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}

kern_return_t IOMemoryDescriptor::CreateWithMemoryDescriptors(uint64_t memoryDescriptorCreateOptions,
                                                              uint32_t withDescriptorsCount,
                                                              IOMemoryDescriptor *const withDescriptors[32],
                                                              IOMemoryDescriptor **memory)
{
    // xnu IOMemoryDescriptor::CreateWithMemoryDescriptors_Impl, plus the array's size (32) and the
    // documented rule that every source descriptor includes the requested direction (xnu asserts
    // it on debug kernels only).
    if (withDescriptors == nullptr || memory == nullptr || withDescriptorsCount == 0 ||
        withDescriptorsCount > kHostMaxParts) {
        return kIOReturnBadArgument;
    }
    if ((memoryDescriptorCreateOptions & ~kHostDirectionMask) != 0) {
        return kIOReturnBadArgument;
    }
    uint64_t requested = memoryDescriptorCreateOptions & kHostDirectionMask;
    uint64_t common = kHostDirectionMask;
    uint64_t total = 0;
    for (uint32_t i = 0; i < withDescriptorsCount; i++) {
        if (withDescriptors[i] == nullptr) {
            return kIOReturnBadArgument;
        }
        if ((withDescriptors[i]->direction & requested) != requested ||
            __builtin_add_overflow(total, withDescriptors[i]->length, &total)) {
            return kIOReturnBadArgument;
        }
        common &= withDescriptors[i]->direction;
    }
    // 0 (kIODirectionNone in xnu, where each part then prepares with its own direction) is what
    // every part allows.
    *memory = HostMultiMemoryDescriptor::Create(withDescriptors, withDescriptorsCount,
                                                requested != 0 ? requested : common);
    return *memory != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}

HostSubMemoryDescriptor *HostSubMemoryDescriptor::Create(IOMemoryDescriptor *parent, uint64_t offset,
                                                         uint64_t subLength, uint64_t subDirection)
{
    HostSubMemoryDescriptor *sub = new HostSubMemoryDescriptor;
    if (!sub->init()) {
        sub->release();
        return nullptr;
    }
    parent->retain();
    sub->parent = parent;
    sub->start = offset;
    sub->length = subLength;
    sub->direction = subDirection;
    // Contiguous when the parent is, or when the range lies in one piece of it.
    if (parent->HostAddress() != nullptr) {
        sub->address = parent->HostAddress() + offset;
    } else {
        IOAddressSegment piece;
        if (sub->HostSegments(&piece, 1) == 1) {
            sub->address = reinterpret_cast<uint8_t *>(piece.address);
        }
    }
    // fd stays -1: a client mapping of the parent's fd would start at the wrong offset.
    return sub;
}

void HostSubMemoryDescriptor::free()
{
    OSSafeReleaseNULL(parent);
    IOMemoryDescriptor::free();
}

void HostSubMemoryDescriptor::HostVisitSegments(uint64_t offset, uint64_t visitLength, HostSegmentVisitor visit,
                                                void *context) const
{
    parent->HostVisitSegments(start + offset, visitLength, visit, context);
}

HostMultiMemoryDescriptor *HostMultiMemoryDescriptor::Create(IOMemoryDescriptor *const *parts, uint32_t count,
                                                             uint64_t multiDirection)
{
    HostMultiMemoryDescriptor *multi = new HostMultiMemoryDescriptor;
    if (!multi->init()) {
        multi->release();
        return nullptr;
    }
    for (uint32_t i = 0; i < count; i++) {
        parts[i]->retain();
        multi->parts[i] = parts[i];
        multi->partLengths[i] = parts[i]->HostLength();
        multi->length += parts[i]->HostLength();
    }
    multi->count = count;
    multi->direction = multiDirection;
    // address stays nullptr: the bytes are not contiguous.
    return multi;
}

void HostMultiMemoryDescriptor::free()
{
    for (uint32_t i = 0; i < count; i++) {
        OSSafeReleaseNULL(parts[i]);
    }
    count = 0;
    IOMemoryDescriptor::free();
}

void HostMultiMemoryDescriptor::HostVisitSegments(uint64_t offset, uint64_t visitLength, HostSegmentVisitor visit,
                                                  void *context) const
{
    for (uint32_t i = 0; i < count && visitLength > 0; i++) {
        if (offset >= partLengths[i]) {
            offset -= partLengths[i];
            continue;
        }
        uint64_t take = std::min(visitLength, partLengths[i] - offset);
        parts[i]->HostVisitSegments(offset, take, visit, context);
        visitLength -= take;
        offset = 0;
    }
}

HostSegmentsMemoryDescriptor *HostSegmentsMemoryDescriptor::Create(const IOAddressSegment *segments, uint32_t count,
                                                                   uint64_t segmentsDirection)
{
    if (segments == nullptr || count == 0 || count > kHostMaxParts) {
        return nullptr;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (__builtin_add_overflow(total, segments[i].length, &total)) {
            return nullptr;
        }
    }
    HostSegmentsMemoryDescriptor *memory = new HostSegmentsMemoryDescriptor;
    if (!memory->init()) {
        memory->release();
        return nullptr;
    }
    memcpy(memory->segments, segments, count * sizeof(IOAddressSegment));
    memory->count = count;
    memory->length = total;
    memory->direction = segmentsDirection;
    return memory;
}

void HostSegmentsMemoryDescriptor::HostVisitSegments(uint64_t offset, uint64_t visitLength,
                                                     HostSegmentVisitor visit, void *context) const
{
    for (uint32_t i = 0; i < count && visitLength > 0; i++) {
        if (offset >= segments[i].length) {
            offset -= segments[i].length;
            continue;
        }
        uint64_t take = std::min(visitLength, segments[i].length - offset);
        visit(context, reinterpret_cast<uint8_t *>(segments[i].address) + offset, take);
        visitLength -= take;
        offset = 0;
    }
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
