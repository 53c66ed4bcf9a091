// DriverKit 20's sub-range, joined and client-memory descriptors, and mach absolute time, as the
// host runtime models them (xnu IOUserServer.cpp: CreateSubMemoryDescriptor_Impl,
// CreateWithMemoryDescriptors_Impl, CreateMemoryDescriptorFromClient_Impl).
#include <DriverKit/DriverKit.h>
#include <mach/mach_time.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "client.h"
#include "harness.h"

namespace {

IOBufferMemoryDescriptor *MakeBuffer(uint64_t options, uint64_t capacity, uint8_t fill)
{
    IOBufferMemoryDescriptor *buffer = nullptr;
    if (IOBufferMemoryDescriptor::Create(options, capacity, 0, &buffer) != kIOReturnSuccess) {
        return nullptr;
    }
    memset(buffer->HostAddress(), fill, capacity);
    return buffer;
}

uint64_t Length(IOMemoryDescriptor *memory)
{
    uint64_t length = ~0ull;
    return memory->GetLength(&length) == kIOReturnSuccess ? length : ~0ull;
}

uint64_t Address(const void *p)
{
    return reinterpret_cast<uint64_t>(p);
}

// A user client of our own: IOUserClient's constructor is protected and the dext's needs a device.
class TestMemoryUserClient final : public IOUserClient {
public:
    static TestMemoryUserClient *Make()
    {
        TestMemoryUserClient *client = new TestMemoryUserClient;
        if (!client->init()) {
            client->release();
            return nullptr;
        }
        return client;
    }
};

// mach ticks to nanoseconds with the timebase, exactly and without overflow.
uint64_t TicksToNanoseconds(uint64_t ticks, const mach_timebase_info_data_t &timebase)
{
    return ticks / timebase.denom * timebase.numer + ticks % timebase.denom * timebase.numer / timebase.denom;
}

uint64_t SteadyNanoseconds()
{
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

} // namespace

// CreateSubMemoryDescriptor refuses what xnu refuses, with kIOReturnBadArgument, and leaves
// *memory alone.
TEST(memory_sub_argument_checks)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *parent = MakeBuffer(kIOMemoryDirectionInOut, 4096, 0);
    CHECK(parent != nullptr);
    IOMemoryDescriptor *sub = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 0, 16, nullptr, &sub), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 0, 16, parent, nullptr), kIOReturnBadArgument);
    // Only the direction bits are options.
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDisableCopyOnWrite, 0, 16, parent, &sub),
             kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0x4, 0, 16, parent, &sub), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(1ull << 32, 0, 16, parent, &sub), kIOReturnBadArgument);
    // offset + length overflows (and would wrap to a small, in-range end).
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, ~0ull, 2, parent, &sub), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 16, ~0ull - 8, parent, &sub), kIOReturnBadArgument);
    // The end is past the parent's length.
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 4000, 97, parent, &sub), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 4097, 0, parent, &sub), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 0, 4097, parent, &sub), kIOReturnBadArgument);
    // SetLength shortens what the parent describes: the check uses its length, not its capacity.
    CHECK_EQ(parent->SetLength(100), kIOReturnSuccess);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 0, 101, parent, &sub), kIOReturnBadArgument);
    CHECK(sub == nullptr);
    CHECK_EQ(parent->HostRetainCount(), 1);  // nothing kept a reference
    // Up to the end exactly, and an empty range at the end, are fine.
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 36, 64, parent, &sub), kIOReturnSuccess);
    CHECK_EQ(Length(sub), 64u);
    OSSafeReleaseNULL(sub);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDirectionIn, 100, 0, parent, &sub),
             kIOReturnSuccess);
    CHECK_EQ(Length(sub), 0u);
    OSSafeReleaseNULL(sub);
    OSSafeReleaseNULL(parent);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// A sub-descriptor reports its range's length, starts at the parent's address + offset, shares the
// parent's bytes, keeps the parent alive and releases it when it goes.
TEST(memory_sub_range_and_parent_lifetime)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *parent = MakeBuffer(kIOMemoryDirectionOut, 8192, 0x11);
    CHECK(parent != nullptr);
    IOMemoryDescriptor *sub = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 1000, 3000, parent, &sub), kIOReturnSuccess);
    CHECK(sub != nullptr);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors + 2);
    CHECK_EQ(sub->HostRetainCount(), 1);     // returned with one reference
    CHECK_EQ(parent->HostRetainCount(), 2);  // the sub-descriptor holds its parent
    CHECK_EQ(Length(sub), 3000u);
    CHECK_EQ(sub->HostLength(), 3000u);
    CHECK(sub->HostAddress() == parent->HostAddress() + 1000);
    CHECK_EQ(sub->HostFD(), -1);  // a client mapping of the parent's fd would start at offset 0
    // Options 0: the parent's direction; otherwise the options'.
    CHECK_EQ(sub->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionOut));
    IOMemoryDescriptor *in = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(kIOMemoryDirectionIn, 0, 10, parent, &in),
             kIOReturnSuccess);
    CHECK_EQ(in->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionIn));
    OSSafeReleaseNULL(in);

    IOAddressSegment segments[2] = {};
    CHECK_EQ(sub->HostSegments(segments, 2), 1u);
    CHECK_EQ(segments[0].address, Address(parent->HostAddress() + 1000));
    CHECK_EQ(segments[0].length, 3000u);

    // A mapping of the sub-descriptor is the parent's bytes at offset + the map's offset.
    IOMemoryMap *map = nullptr;
    CHECK_EQ(sub->CreateMapping(0, 0, 8, 0, 0, &map), kIOReturnSuccess);
    CHECK_EQ(map->GetAddress(), Address(parent->HostAddress() + 1008));
    CHECK_EQ(map->GetLength(), 2992u);
    IOMemoryMap *past = nullptr;
    CHECK_EQ(sub->CreateMapping(0, 0, 3000, 1, 0, &past), kIOReturnBadArgument);  // past the sub-range
    CHECK(past == nullptr);

    // The caller's reference to the parent may go: the sub-descriptor keeps the bytes alive.
    OSSafeReleaseNULL(parent);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors + 2);
    memset(sub->HostAddress(), 0x22, 3000);
    uint8_t check[4] = {};
    CHECK_EQ(sub->HostReadBytes(2998, check, sizeof(check)), 2u);  // clipped to the sub-range
    CHECK_EQ(check[0], 0x22);
    OSSafeReleaseNULL(map);
    OSSafeReleaseNULL(sub);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// A sub-range of a sub-range adds the offsets and holds the chain.
TEST(memory_sub_of_sub)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *parent = MakeBuffer(kIOMemoryDirectionInOut, 4096, 0);
    IOMemoryDescriptor *outer = nullptr;
    IOMemoryDescriptor *inner = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 100, 1000, parent, &outer), kIOReturnSuccess);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 900, 101, outer, &inner), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 900, 100, outer, &inner), kIOReturnSuccess);
    CHECK(inner->HostAddress() == parent->HostAddress() + 1000);
    CHECK_EQ(outer->HostRetainCount(), 2);
    OSSafeReleaseNULL(outer);
    OSSafeReleaseNULL(parent);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors + 3);
    OSSafeReleaseNULL(inner);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// CreateWithMemoryDescriptors refuses what xnu refuses, plus more than 32 parts and a part
// without the requested direction, and takes no reference when it fails.
TEST(memory_multi_argument_checks)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *a = MakeBuffer(kIOMemoryDirectionInOut, 64, 0);
    IOBufferMemoryDescriptor *in = MakeBuffer(kIOMemoryDirectionIn, 64, 0);
    IOMemoryDescriptor *parts[33] = {};
    for (IOMemoryDescriptor *&part : parts) {
        part = a;
    }
    IOMemoryDescriptor *multi = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 1, nullptr, &multi), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 0, parts, &multi), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 33, parts, &multi), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 2, parts, nullptr), kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDisableCopyOnWrite, 2, parts, &multi),
             kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0x4, 2, parts, &multi), kIOReturnBadArgument);
    parts[2] = nullptr;  // any null entry within the count
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 3, parts, &multi), kIOReturnBadArgument);
    parts[2] = in;  // the source descriptors must include the requested direction
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionOut, 3, parts, &multi),
             kIOReturnBadArgument);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 3, parts, &multi),
             kIOReturnBadArgument);
    CHECK(multi == nullptr);
    CHECK_EQ(a->HostRetainCount(), 1);
    CHECK_EQ(in->HostRetainCount(), 1);
    // 32 parts, the same one 32 times, are fine; options 0 take what every part allows.
    parts[2] = a;
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 32, parts, &multi), kIOReturnSuccess);
    CHECK_EQ(Length(multi), 32u * 64u);
    CHECK_EQ(a->HostRetainCount(), 33);
    CHECK_EQ(multi->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionInOut));
    OSSafeReleaseNULL(multi);
    CHECK_EQ(a->HostRetainCount(), 1);
    parts[1] = in;
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 2, parts, &multi), kIOReturnSuccess);
    CHECK_EQ(multi->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionIn));
    OSSafeReleaseNULL(multi);
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionIn, 2, parts, &multi),
             kIOReturnSuccess);
    CHECK_EQ(multi->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionIn));
    OSSafeReleaseNULL(multi);
    OSSafeReleaseNULL(a);
    OSSafeReleaseNULL(in);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// A joined descriptor is as long as its parts together, is not contiguous, lists its parts'
// pieces in order, copies across their boundaries, holds every part, and is not mappable here.
TEST(memory_multi_segments_and_lifetime)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *a = MakeBuffer(kIOMemoryDirectionInOut, 4096, 'a');
    IOBufferMemoryDescriptor *b = MakeBuffer(kIOMemoryDirectionInOut, 512, 'b');
    IOMemoryDescriptor *bSub = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 100, 50, b, &bSub), kIOReturnSuccess);
    uint8_t local[10];
    memset(local, 'c', sizeof(local));
    IOMemoryDescriptor *c = IOMemoryDescriptor::HostWithAddress(local, sizeof(local), kIOMemoryDirectionInOut);
    CHECK(c != nullptr);
    IOMemoryDescriptor *const parts[3] = { a, bSub, c };
    IOMemoryDescriptor *multi = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(kIOMemoryDirectionInOut, 3, parts, &multi),
             kIOReturnSuccess);
    CHECK_EQ(Length(multi), 4096u + 50u + 10u);
    CHECK(multi->HostAddress() == nullptr);
    CHECK_EQ(multi->HostFD(), -1);
    CHECK_EQ(a->HostRetainCount(), 2);
    CHECK_EQ(bSub->HostRetainCount(), 2);
    CHECK_EQ(c->HostRetainCount(), 2);

    IOAddressSegment segments[4] = {};
    CHECK_EQ(multi->HostSegments(segments, 4), 3u);
    CHECK_EQ(segments[0].address, Address(a->HostAddress()));
    CHECK_EQ(segments[0].length, 4096u);
    CHECK_EQ(segments[1].address, Address(b->HostAddress() + 100));
    CHECK_EQ(segments[1].length, 50u);
    CHECK_EQ(segments[2].address, Address(local));
    CHECK_EQ(segments[2].length, 10u);
    IOAddressSegment first = {};
    CHECK_EQ(multi->HostSegments(&first, 1), 3u);  // the count, with only max written
    CHECK_EQ(first.address, segments[0].address);
    CHECK_EQ(multi->HostSegments(nullptr, 0), 3u);

    // Copies cross the parts' boundaries.
    uint8_t bytes[64] = {};
    CHECK_EQ(multi->HostReadBytes(4090, bytes, sizeof(bytes)), 64u);
    CHECK(memcmp(bytes, "aaaaaa", 6) == 0);
    CHECK_EQ(bytes[6], 'b');
    CHECK_EQ(bytes[55], 'b');
    CHECK_EQ(bytes[56], 'c');
    CHECK_EQ(bytes[63], 'c');
    CHECK_EQ(multi->HostReadBytes(4150, bytes, sizeof(bytes)), 6u);  // clipped at the end
    memset(bytes, 'z', sizeof(bytes));
    CHECK_EQ(multi->HostWriteBytes(4096 + 48, bytes, 4), 4u);
    CHECK_EQ(b->HostAddress()[100 + 48], 'z');
    CHECK_EQ(b->HostAddress()[100 + 49], 'z');
    CHECK_EQ(b->HostAddress()[100 + 50], 'b');  // past the sub-range: untouched
    CHECK_EQ(local[0], 'z');
    CHECK_EQ(local[2], 'c');
    CHECK_EQ(multi->HostReadBytes(4096 + 60, bytes, 1), 0u);

    // Not modeled: mapping bytes that are not contiguous here.
    IOMemoryMap *map = nullptr;
    CHECK_EQ(multi->CreateMapping(0, 0, 0, 0, 0, &map), kIOReturnUnsupported);
    CHECK(map == nullptr);

    // A sub-range of it is contiguous when it lies in one part, not when it spans two.
    IOMemoryDescriptor *inside = nullptr;
    IOMemoryDescriptor *across = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 4100, 20, multi, &inside), kIOReturnSuccess);
    CHECK(inside->HostAddress() == b->HostAddress() + 104);
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 4000, 110, multi, &across), kIOReturnSuccess);
    CHECK(across->HostAddress() == nullptr);
    CHECK_EQ(across->HostSegments(segments, 4), 2u);
    CHECK_EQ(segments[0].address, Address(a->HostAddress() + 4000));
    CHECK_EQ(segments[0].length, 96u);
    CHECK_EQ(segments[1].address, Address(b->HostAddress() + 100));
    CHECK_EQ(segments[1].length, 14u);
    OSSafeReleaseNULL(inside);
    OSSafeReleaseNULL(across);

    // The caller's references go first; the parts live as long as the joined descriptor.
    OSSafeReleaseNULL(a);
    OSSafeReleaseNULL(bSub);
    OSSafeReleaseNULL(c);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors + 5);  // a, b, bSub, c, multi
    CHECK_EQ(b->HostRetainCount(), 2);
    OSSafeReleaseNULL(multi);
    CHECK_EQ(b->HostRetainCount(), 1);
    OSSafeReleaseNULL(b);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// A joined descriptor may join joined descriptors.
TEST(memory_multi_nested)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *a = MakeBuffer(kIOMemoryDirectionInOut, 16, 'a');
    IOBufferMemoryDescriptor *b = MakeBuffer(kIOMemoryDirectionInOut, 16, 'b');
    IOMemoryDescriptor *const ab[2] = { a, b };
    IOMemoryDescriptor *inner = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 2, ab, &inner), kIOReturnSuccess);
    IOMemoryDescriptor *const outerParts[3] = { b, inner, a };
    IOMemoryDescriptor *outer = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateWithMemoryDescriptors(0, 3, outerParts, &outer), kIOReturnSuccess);
    CHECK_EQ(Length(outer), 64u);
    IOAddressSegment segments[4] = {};
    CHECK_EQ(outer->HostSegments(segments, 4), 4u);
    CHECK_EQ(segments[0].address, Address(b->HostAddress()));
    CHECK_EQ(segments[1].address, Address(a->HostAddress()));
    CHECK_EQ(segments[2].address, Address(b->HostAddress()));
    CHECK_EQ(segments[3].address, Address(a->HostAddress()));
    char text[65] = {};
    CHECK_EQ(outer->HostReadBytes(0, text, 64), 64u);
    CHECK(strcmp(text, "bbbbbbbbbbbbbbbbaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbaaaaaaaaaaaaaaaa") == 0);
    OSSafeReleaseNULL(inner);
    OSSafeReleaseNULL(a);
    OSSafeReleaseNULL(b);
    OSSafeReleaseNULL(outer);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// CreateMemoryDescriptorFromClient: the client task is this process, so a segment's address is
// used as is; one segment is contiguous, several are not.
TEST(memory_client_descriptor)
{
    DextioHostLiveCounts before = SettledCounts();
    TestMemoryUserClient *client = TestMemoryUserClient::Make();
    CHECK(client != nullptr);
    uint8_t buffer[300];
    memset(buffer, 0x33, sizeof(buffer));

    IOAddressSegment one[1] = { { Address(buffer), sizeof(buffer) } };
    IOMemoryDescriptor *memory = nullptr;
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(kIOMemoryDirectionOut, 1, one, &memory), kIOReturnSuccess);
    CHECK(memory != nullptr);
    CHECK_EQ(Length(memory), sizeof(buffer));
    CHECK(memory->HostAddress() == buffer);
    CHECK_EQ(memory->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionOut));
    CHECK_EQ(memory->HostFD(), -1);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors + 1);
    memory->HostAddress()[5] = 0x44;
    CHECK_EQ(buffer[5], 0x44);  // the client's bytes, not a copy
    IOMemoryMap *map = nullptr;
    CHECK_EQ(memory->CreateMapping(0, 0, 0, 0, 0, &map), kIOReturnSuccess);
    CHECK_EQ(map->GetAddress(), Address(buffer));
    OSSafeReleaseNULL(map);
    OSSafeReleaseNULL(memory);

    // Several segments, a zero-length one among them (accepted, as by xnu's withAddressRanges).
    IOAddressSegment three[3] = {
        { Address(buffer + 200), 100 },
        { Address(buffer + 50), 0 },
        { Address(buffer), 10 },
    };
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(kIOMemoryDirectionInOut | kIOMemoryDisableCopyOnWrite, 3,
                                                      three, &memory),
             kIOReturnSuccess);
    CHECK_EQ(Length(memory), 110u);
    CHECK(memory->HostAddress() == nullptr);
    CHECK_EQ(memory->HostDirection(), static_cast<uint64_t>(kIOMemoryDirectionInOut));
    IOAddressSegment segments[4] = {};
    CHECK_EQ(memory->HostSegments(segments, 4), 2u);  // the empty one describes no bytes
    CHECK_EQ(segments[0].address, Address(buffer + 200));
    CHECK_EQ(segments[0].length, 100u);
    CHECK_EQ(segments[1].address, Address(buffer));
    CHECK_EQ(segments[1].length, 10u);
    uint8_t bytes[4] = { 1, 2, 3, 4 };
    CHECK_EQ(memory->HostWriteBytes(98, bytes, 4), 4u);
    CHECK_EQ(buffer[298], 1);
    CHECK_EQ(buffer[299], 2);
    CHECK_EQ(buffer[0], 3);
    CHECK_EQ(buffer[1], 4);
    CHECK_EQ(memory->CreateMapping(0, 0, 0, 0, 0, &map), kIOReturnUnsupported);
    // It can be cut and joined like any descriptor.
    IOMemoryDescriptor *sub = nullptr;
    CHECK_EQ(IOMemoryDescriptor::CreateSubMemoryDescriptor(0, 100, 10, memory, &sub), kIOReturnSuccess);
    CHECK(sub->HostAddress() == buffer);
    OSSafeReleaseNULL(sub);
    OSSafeReleaseNULL(memory);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors);

    OSSafeReleaseNULL(client);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

TEST(memory_client_argument_checks)
{
    DextioHostLiveCounts before = SettledCounts();
    TestMemoryUserClient *client = TestMemoryUserClient::Make();
    uint8_t buffer[64];
    IOAddressSegment segments[33];
    for (IOAddressSegment &segment : segments) {
        segment = { Address(buffer), sizeof(buffer) };
    }
    IOMemoryDescriptor *memory = nullptr;
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0, 0, segments, &memory), kIOReturnBadArgument);
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0, 33, segments, &memory), kIOReturnBadArgument);
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0, 1, nullptr, &memory), kIOReturnBadArgument);
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0, 1, segments, nullptr), kIOReturnBadArgument);
    // Direction bits and kIOMemoryDisableCopyOnWrite only.
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0x4, 1, segments, &memory), kIOReturnBadArgument);
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0x100, 1, segments, &memory), kIOReturnBadArgument);
    CHECK(memory == nullptr);
    CHECK_EQ(LiveCounts().descriptors, before.descriptors);
    // A segment that wraps around the address space: withAddressRanges fails, kIOReturnNoMemory.
    IOAddressSegment wrap[2] = { { Address(buffer), 16 }, { ~0ull - 4, 16 } };
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0, 2, wrap, &memory), kIOReturnNoMemory);
    CHECK(memory == nullptr);
    // 32 segments are fine.
    CHECK_EQ(client->CreateMemoryDescriptorFromClient(0, 32, segments, &memory), kIOReturnSuccess);
    CHECK_EQ(Length(memory), 32u * sizeof(buffer));
    CHECK_EQ(memory->HostSegments(nullptr, 0), 32u);
    OSSafeReleaseNULL(memory);
    OSSafeReleaseNULL(client);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

// The host's timebase is Apple silicon's 24 MHz tick, not 1:1.
TEST(time_timebase_is_24mhz)
{
    mach_timebase_info_data_t timebase = {};
    CHECK_EQ(mach_timebase_info(&timebase), KERN_SUCCESS);
    CHECK_EQ(timebase.numer, 125u);
    CHECK_EQ(timebase.denom, 3u);
    CHECK(mach_timebase_info(nullptr) != KERN_SUCCESS);
}

// Ticks converted with the timebase are steady_clock's nanoseconds; unconverted they are not.
TEST(time_ticks_track_steady_clock)
{
    mach_timebase_info_data_t timebase = {};
    mach_timebase_info(&timebase);
    uint64_t steadyBefore = SteadyNanoseconds();
    uint64_t ticks = mach_absolute_time();
    uint64_t steadyAfter = SteadyNanoseconds();
    uint64_t converted = TicksToNanoseconds(ticks, timebase);
    // Rounded down to a tick (41.67 ns), taken between the two readings.
    CHECK(converted + 43 >= steadyBefore);
    CHECK(converted <= steadyAfter);

    uint64_t ticks0 = mach_absolute_time();
    uint64_t steady0 = SteadyNanoseconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    uint64_t ticks1 = mach_absolute_time();
    uint64_t steady1 = SteadyNanoseconds();
    uint64_t elapsedNs = TicksToNanoseconds(ticks1 - ticks0, timebase);
    uint64_t steadyNs = steady1 - steady0;
    CHECK(steadyNs >= 50000000u);
    uint64_t difference = elapsedNs > steadyNs ? elapsedNs - steadyNs : steadyNs - elapsedNs;
    CHECK(difference < 2000000u);  // 2 ms
    CHECK(ticks1 - ticks0 < steadyNs / 20);  // ~24 ticks per microsecond, not 1000
}

TEST(time_ticks_are_monotonic)
{
    uint64_t previous = mach_absolute_time();
    bool monotonic = true;
    for (int i = 0; i < 200000; i++) {
        uint64_t now = mach_absolute_time();
        monotonic = monotonic && now >= previous;
        previous = now;
    }
    CHECK(monotonic);
    uint64_t start = mach_absolute_time();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK(mach_absolute_time() > start);
}

// completionTimestamp (CompleteAsyncIO) is in mach ticks, taken when the transfer completes.
TEST(time_completion_timestamp_is_mach_ticks)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    CHECK(client.Slot(0x81, 0) != nullptr);
    uint64_t before = mach_absolute_time();
    CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 1000, 0x7157), kIOReturnSuccess);
    DextioCompletion completion = {};
    CHECK(client.Wait(0x7157, &completion));
    uint64_t after = mach_absolute_time();
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK(completion.timestamp >= before);
    CHECK(completion.timestamp <= after);
    CHECK_EQ(client.Close(), kIOReturnSuccess);
}
