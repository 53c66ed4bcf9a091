// Every selector with good and bad arguments, and the memory types.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "client.h"
#include "harness.h"

TEST(selector_unknown_is_bad_argument)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    CHECK_EQ(client.Call(kDextioSelectorCount, nullptr, 0), kIOReturnBadArgument);
    CHECK_EQ(client.Call(0xffffffffu, nullptr, 0), kIOReturnBadArgument);
}

TEST(selector_wrong_scalar_counts_are_bad_argument)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint64_t input[16] = {};
    const uint32_t expected[kDextioSelectorCount] = { 0, 0, kDextioSubmitSlotScalarCount,
                                                      kDextioSubmitDescriptorScalarCount, kDextioControlScalarCount,
                                                      kDextioControlScalarCount, 1, 1, 1 };
    for (uint32_t selector = 0; selector < kDextioSelectorCount; selector++) {
        uint32_t count = expected[selector] + 1;
        kern_return_t ret = selector == kDextioSelectorSubmitSlot || selector == kDextioSelectorSubmitDescriptor
                                ? client.CallAsync(selector, input, count, nullptr, 0, nullptr, nullptr)
                                : client.Call(selector, input, count);
        CHECK_EQ(ret, kIOReturnBadArgument);
    }
    // Too few scalar outputs for GetDeviceInfo.
    uint64_t output[16];
    uint32_t outputCount = kDextioDeviceInfoScalarCount - 1;
    CHECK_EQ(client.Call(kDextioSelectorGetDeviceInfo, nullptr, 0, output, &outputCount), kIOReturnBadArgument);
}

TEST(selector_completion_required_exactly_where_async)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint64_t submit[kDextioSubmitSlotScalarCount] = { 0x81, 0, 64, 0, 1 };
    CHECK_EQ(client.Call(kDextioSelectorSubmitSlot, submit, kDextioSubmitSlotScalarCount), kIOReturnBadArgument);
    uint64_t pipe = 0x81;
    CHECK_EQ(client.CallAsync(kDextioSelectorAbortPipe, &pipe, 1, nullptr, 0, nullptr, nullptr), kIOReturnBadArgument);
}

TEST(selector_get_device_info)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint64_t out[kDextioDeviceInfoScalarCount] = {};
    uint32_t count = kDextioDeviceInfoScalarCount;
    CHECK_EQ(client.Call(kDextioSelectorGetDeviceInfo, nullptr, 0, out, &count), kIOReturnSuccess);
    CHECK_EQ(count, static_cast<uint32_t>(kDextioDeviceInfoScalarCount));
    CHECK_EQ(out[kDextioDeviceInfoAbiVersion], DEXTIO_ABI_VERSION);
    CHECK_EQ(out[kDextioDeviceInfoVendorID], 0x0525);
    CHECK_EQ(out[kDextioDeviceInfoProductID], 0xa4a0);
    CHECK_EQ(out[kDextioDeviceInfoInterfaceNumber], 0);
    CHECK_EQ(out[kDextioDeviceInfoAltSetting], 0);
    CHECK_EQ(out[kDextioDeviceInfoPipeCount], 4);
    CHECK_EQ(out[kDextioDeviceInfoSpeed], 2);  // high speed
}

TEST(selector_get_pipes)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    DextioPipeInfo pipes[kDextioMaxPipes];
    size_t size = sizeof(pipes);
    uint64_t count = 0;
    uint32_t outputCount = 1;
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorGetPipes, nullptr, 0, nullptr, 0, &count, &outputCount,
                                 pipes, &size),
             kIOReturnSuccess);
    CHECK_EQ(count, 4);
    CHECK_EQ(size, 4 * sizeof(DextioPipeInfo));
    std::vector<uint8_t> addresses;
    for (uint64_t i = 0; i < count && i < kDextioMaxPipes; i++) {
        addresses.push_back(pipes[i].address);
        CHECK_EQ(pipes[i].type, 2);
        CHECK_EQ(pipes[i].maxPacketSize, 512);
        CHECK_EQ(pipes[i].slotCount, kDextioSlotsPerPipe);
    }
    CHECK((addresses == std::vector<uint8_t>{ 0x01, 0x02, 0x81, 0x82 }));
    // An output buffer above 4096 bytes arrives as a descriptor; the dext answers by value, and
    // the kernel refuses a structureOutput next to a structureOutputDescriptor.
    std::vector<uint8_t> large(8192);
    size = large.size();
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorGetPipes, nullptr, 0, nullptr, 0, &count, &outputCount,
                                 large.data(), &size),
             kIOReturnBadArgument);
    // An output buffer too small for the list.
    size = sizeof(DextioPipeInfo);
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorGetPipes, nullptr, 0, nullptr, 0, &count, &outputCount,
                                 pipes, &size),
             kIOReturnBadArgument);
}

TEST(selector_submit_slot_bad_arguments)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    CHECK_EQ(client.SubmitSlot(0x83, 0, 64, 0, 1), kIOReturnBadArgument);          // no such pipe
    CHECK_EQ(client.SubmitSlot(0x00, 0, 64, 0, 1), kIOReturnBadArgument);          // the control pipe
    CHECK_EQ(client.SubmitSlot(0x81, kDextioSlotsPerPipe, 64, 0, 1), kIOReturnBadArgument);
    CHECK_EQ(client.SubmitSlot(0x81, 0, kDextioSlotCapacity + 1, 0, 1), kIOReturnBadArgument);
    uint64_t input[kDextioSubmitSlotScalarCount] = { 0x181, 0, 64, 0, 1 };     // beyond 8 bits
    CHECK_EQ(client.CallAsync(kDextioSelectorSubmitSlot, input, kDextioSubmitSlotScalarCount, nullptr, 0, nullptr,
                              nullptr),
             kIOReturnBadArgument);
    uint64_t timeout[kDextioSubmitSlotScalarCount] = { 0x81, 0, 64, 1ull << 32, 1 };
    CHECK_EQ(client.CallAsync(kDextioSelectorSubmitSlot, timeout, kDextioSubmitSlotScalarCount, nullptr, 0, nullptr,
                              nullptr),
             kIOReturnBadArgument);
    // A structure where none is expected.
    uint8_t stray[8] = {};
    uint64_t good[kDextioSubmitSlotScalarCount] = { 0x81, 0, 64, 0, 1 };
    CHECK_EQ(client.CallAsync(kDextioSelectorSubmitSlot, good, kDextioSubmitSlotScalarCount, stray, sizeof(stray),
                              nullptr, nullptr),
             kIOReturnBadArgument);
    CHECK_EQ(client.Ring()->header.completionCount, 0u);
}

TEST(selector_memory_types)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    const uint64_t bad[] = {
        0,                                                      // kind 0
        3u << 24,                                               // unknown kind
        DextioMemoryTypeSlot(0x83, 0),                          // no such pipe
        DextioMemoryTypeSlot(0x00, 0),                          // the control pipe
        DextioMemoryTypeSlot(0x81, kDextioSlotsPerPipe),        // slot out of range
        DextioMemoryTypeCompletionRing() | 1,                   // ring with a slot
    };
    for (uint64_t type : bad) {
        CHECK_EQ(IOConnectMapMemory64(client.connect, static_cast<uint32_t>(type), mach_task_self(), &address, &size,
                                      kIOMapAnywhere),
                 kIOReturnBadArgument);
    }
    // A fixed address is not offered.
    CHECK_EQ(IOConnectMapMemory64(client.connect, DextioMemoryTypeSlot(0x81, 0), mach_task_self(), &address, &size, 0),
             kIOReturnUnsupported);
    // The same type maps to the same memory; unmapping needs the right address.
    uint8_t *first = client.Slot(0x01, 3);
    CHECK(first != nullptr);
    mach_vm_address_t again = 0;
    CHECK_EQ(IOConnectMapMemory64(client.connect, DextioMemoryTypeSlot(0x01, 3), mach_task_self(), &again, &size,
                                  kIOMapAnywhere),
             kIOReturnSuccess);
    CHECK_EQ(again, reinterpret_cast<mach_vm_address_t>(first));
    CHECK_EQ(IOConnectUnmapMemory64(client.connect, DextioMemoryTypeSlot(0x01, 3), mach_task_self(), again + 4096),
             kIOReturnBadArgument);
    CHECK_EQ(IOConnectUnmapMemory64(client.connect, DextioMemoryTypeSlot(0x01, 3), mach_task_self(), again),
             kIOReturnSuccess);
    first[0] = 1;  // still mapped once
    CHECK_EQ(IOConnectUnmapMemory64(client.connect, DextioMemoryTypeSlot(0x01, 3), mach_task_self(), again),
             kIOReturnSuccess);
    CHECK_EQ(IOConnectUnmapMemory64(client.connect, DextioMemoryTypeSlot(0x01, 3), mach_task_self(), again),
             kIOReturnBadArgument);
}

TEST(selector_in_slots_are_read_only)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *in = client.Slot(0x81, 0);
    uint8_t *out = client.Slot(0x01, 0);
    CHECK(in != nullptr && out != nullptr);
    out[0] = 42;  // OUT slots are writable
    fflush(nullptr);
    pid_t child = fork();
    if (child == 0) {
        signal(SIGSEGV, SIG_DFL);  // die quietly, even under AddressSanitizer
        *static_cast<volatile uint8_t *>(in) = 1;
        _exit(0);
    }
    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
}

TEST(selector_control_transfers)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t data[4096];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = static_cast<uint8_t>(i * 7);
    }
    uint64_t bytes = 0;
    CHECK_EQ(client.ControlOut(0x40, 0x5b, 0, 0, data, 4096, &bytes), kIOReturnSuccess);
    CHECK_EQ(bytes, 4096);
    uint8_t back[4096] = {};
    CHECK_EQ(client.ControlIn(0xc0, 0x5c, 0, 0, back, 4096, &bytes), kIOReturnSuccess);
    CHECK_EQ(bytes, 4096);
    CHECK(memcmp(data, back, sizeof(data)) == 0);
    CHECK_EQ(client.ControlOut(0x40, 0x5b, 0, 0, nullptr, 0, &bytes), kIOReturnSuccess);  // no data stage

    // Direction bit disagreeing with the selector, an unknown request (the gadget stalls).
    CHECK_EQ(client.ControlIn(0x40, 0x5c, 0, 0, back, 16, &bytes), kIOReturnBadArgument);
    CHECK_EQ(client.ControlOut(0xc0, 0x5b, 0, 0, data, 16, &bytes), kIOReturnBadArgument);
    CHECK_EQ(client.ControlIn(0xc0, 0x77, 0, 0, back, 16, &bytes), kUSBHostReturnPipeStalled);

    // wLength disagreeing with the structure, fields out of range, a data stage above 4096 bytes.
    uint64_t input[kDextioControlScalarCount] = { 0x40, 0x5b, 0, 0, 8, 1000 };
    uint32_t outputCount = 1;
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorControlOut, input, kDextioControlScalarCount, data, 16,
                                 &bytes, &outputCount, nullptr, nullptr),
             kIOReturnBadArgument);
    uint64_t wide[kDextioControlScalarCount] = { 0x40, 0x15b, 0, 0, 0, 1000 };
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorControlOut, wide, kDextioControlScalarCount, nullptr, 0,
                                 &bytes, &outputCount, nullptr, nullptr),
             kIOReturnBadArgument);
    std::vector<uint8_t> big(4097);
    uint64_t large[kDextioControlScalarCount] = { 0x40, 0x5b, 0, 0, 4097, 1000 };
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorControlOut, large, kDextioControlScalarCount,
                                 big.data(), big.size(), &bytes, &outputCount, nullptr, nullptr),
             kIOReturnBadArgument);
    size_t bigSize = big.size();
    uint64_t largeIn[kDextioControlScalarCount] = { 0xc0, 0x5c, 0, 0, 4097, 1000 };
    CHECK_EQ(IOConnectCallMethod(client.connect, kDextioSelectorControlIn, largeIn, kDextioControlScalarCount, nullptr,
                                 0, &bytes, &outputCount, big.data(), &bigSize),
             kIOReturnBadArgument);
}

TEST(selector_abort_clear_stall_bad_pipes)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    for (uint64_t pipe : { 0x83ull, 0x0ull, 0x100ull, 0x8full }) {
        CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnBadArgument);
        CHECK_EQ(client.Call(kDextioSelectorClearStall, &pipe, 1), kIOReturnBadArgument);
    }
    uint64_t pipe = 0x81;
    CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);
    CHECK_EQ(client.Call(kDextioSelectorClearStall, &pipe, 1), kIOReturnSuccess);
}

TEST(selector_alternate_setting)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *loopbackSlot = client.Slot(0x82, 0);
    CHECK(loopbackSlot != nullptr);
    uint64_t alt = 1;
    CHECK_EQ(client.Call(kDextioSelectorSelectAltSetting, &alt, 1), kIOReturnSuccess);
    uint64_t out[kDextioDeviceInfoScalarCount] = {};
    uint32_t count = kDextioDeviceInfoScalarCount;
    CHECK_EQ(client.Call(kDextioSelectorGetDeviceInfo, nullptr, 0, out, &count), kIOReturnSuccess);
    CHECK_EQ(out[kDextioDeviceInfoAltSetting], 1);
    CHECK_EQ(out[kDextioDeviceInfoPipeCount], 2);
    CHECK_EQ(client.SubmitSlot(0x82, 0, 64, 0, 1), kIOReturnBadArgument);  // gone with alt 0
    // The slot memory of the vanished pipe stays the same memory type's descriptor.
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    CHECK_EQ(IOConnectMapMemory64(client.connect, DextioMemoryTypeSlot(0x82, 0), mach_task_self(), &address, &size,
                                  kIOMapAnywhere),
             kIOReturnSuccess);
    CHECK_EQ(address, reinterpret_cast<mach_vm_address_t>(loopbackSlot));
    CHECK_EQ(client.SubmitSlot(0x81, 0, 512, 0, 2), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(2, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);

    alt = 7;
    CHECK(client.Call(kDextioSelectorSelectAltSetting, &alt, 1) != kIOReturnSuccess);
    alt = 0x100;
    CHECK_EQ(client.Call(kDextioSelectorSelectAltSetting, &alt, 1), kIOReturnBadArgument);

    // Busy while a transfer is in flight.
    DextioHostGadgetInjectTimeout(0x81, 1);
    CHECK_EQ(client.SubmitSlot(0x81, 1, 512, 0, 3), kIOReturnSuccess);
    alt = 0;
    CHECK_EQ(client.Call(kDextioSelectorSelectAltSetting, &alt, 1), kIOReturnBusy);
    uint64_t pipe = 0x81;
    CHECK_EQ(client.Call(kDextioSelectorAbortPipe, &pipe, 1), kIOReturnSuccess);
    CHECK(client.Wait(3, &completion));
    CHECK_EQ(completion.status, kIOReturnAborted);
    CHECK_EQ(client.Call(kDextioSelectorSelectAltSetting, &alt, 1), kIOReturnSuccess);
    count = kDextioDeviceInfoScalarCount;
    CHECK_EQ(client.Call(kDextioSelectorGetDeviceInfo, nullptr, 0, out, &count), kIOReturnSuccess);
    CHECK_EQ(out[kDextioDeviceInfoPipeCount], 4);
}
