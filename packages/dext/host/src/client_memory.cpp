// Host runtime: IOUserClient::CreateMemoryDescriptorFromClient (DriverKit 20). On macOS the segments
// are addresses in the user client's task; in the host that task is this process, so an address is
// used as is (the host cannot tell a bad client address from a good one).
#include <DriverKit/IOUserClient.h>

#include "internal.h"

namespace {

// Direction bits, and kIOMemoryDisableCopyOnWrite (xnu otherwise asks for kIOMemoryMapCopyOnWrite;
// the host never copies the client's pages, so the bit changes nothing here).
constexpr uint64_t kClientMemoryOptions = kIOMemoryDirectionOutIn | kIOMemoryDisableCopyOnWrite;
constexpr uint32_t kClientMemorySegmentsMax = 32;  // const IOAddressSegment segments[32]

} // namespace

kern_return_t IOUserClient::CreateMemoryDescriptorFromClient(uint64_t memoryDescriptorCreateOptions,
                                                             uint32_t segmentsCount,
                                                             const IOAddressSegment segments[32],
                                                             IOMemoryDescriptor **memory)
{
    // xnu ignores other option bits and leaves a count of 0 to an assert in withAddressRanges; the
    // host refuses both, as CreateSubMemoryDescriptor/CreateWithMemoryDescriptors refuse theirs.
    if (memory == nullptr || segments == nullptr || segmentsCount == 0 || segmentsCount > kClientMemorySegmentsMax ||
        (memoryDescriptorCreateOptions & ~kClientMemoryOptions) != 0) {
        return kIOReturnBadArgument;
    }
    // As xnu's IOGeneralMemoryDescriptor::initWithOptions: a zero-length segment is accepted (it
    // describes no bytes); a segment that wraps around the address space, or a total length that
    // overflows, makes withAddressRanges fail, which CreateMemoryDescriptorFromClient_Impl returns
    // as kIOReturnNoMemory.
    uint64_t total = 0;
    for (uint32_t i = 0; i < segmentsCount; i++) {
        uint64_t end = 0;
        if (__builtin_add_overflow(segments[i].address, segments[i].length, &end) ||
            __builtin_add_overflow(total, segments[i].length, &total)) {
            *memory = nullptr;
            return kIOReturnNoMemory;
        }
    }
    uint64_t direction = memoryDescriptorCreateOptions & kIOMemoryDirectionOutIn;
    if (segmentsCount == 1) {
        *memory = IOMemoryDescriptor::HostWithAddress(reinterpret_cast<void *>(segments[0].address),
                                                      segments[0].length, direction);
    } else {
        *memory = IOMemoryDescriptor::HostWithSegments(segments, segmentsCount, direction);
    }
    return *memory != nullptr ? kIOReturnSuccess : kIOReturnNoMemory;
}
