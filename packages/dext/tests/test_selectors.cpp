// Every selector with good and bad arguments, and the memory types.
#include <cstring>
#include <vector>

#include <USBDriverKit/AppleUSBDefinitions.h>

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
    const uint32_t expected[kDextioSelectorCount] = { 0, 0, 0,
                                                      kDextioSubmitDescriptorScalarCount, kDextioControlScalarCount,
                                                      kDextioControlScalarCount, 1, 1, 1, 0,
                                                      kDextioGetDescriptorScalarCount };
    for (uint32_t selector = 0; selector < kDextioSelectorCount; selector++) {
        uint32_t count = expected[selector] + 1;
        bool async = selector == kDextioSelectorControlIn || selector == kDextioSelectorControlOut ||
                     selector == kDextioSelectorRegisterNotification;
        kern_return_t ret = async ? client.CallAsync(selector, input, count, nullptr, 0, nullptr, nullptr)
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
    // Transfers report through the ring, so their calls are synchronous; control requests and the
    // notification registration are asynchronous.
    CHECK_EQ(client.CallAsync(kDextioSelectorKick, nullptr, 0, nullptr, 0, nullptr, nullptr), kIOReturnBadArgument);
    uint64_t pipe = 0x81;
    CHECK_EQ(client.CallAsync(kDextioSelectorAbortPipe, &pipe, 1, nullptr, 0, nullptr, nullptr), kIOReturnBadArgument);
    CHECK_EQ(client.Call(kDextioSelectorRegisterNotification, nullptr, 0), kIOReturnBadArgument);
    uint64_t control[kDextioControlScalarCount] = { 0xc0, 0x5c, 0, 0, 16, 100 };
    CHECK_EQ(client.Call(kDextioSelectorControlIn, control, kDextioControlScalarCount), kIOReturnBadArgument);
    CHECK_EQ(client.Ring()->header.completionCount, 0u);
}

TEST(selector_transfers_need_a_registered_notification)
{
    TestClient client;
    CHECK_EQ(client.Open(false), kIOReturnSuccess);
    std::vector<uint8_t> big(5000);
    CHECK_EQ(client.SubmitSlot(0x81, 0, 64, 0, 1), kIOReturnNotReady);  // the kick
    CHECK_EQ(client.SubmitDescriptor(0x81, big.data(), big.size(), 0, 2), kIOReturnNotReady);
    CHECK_EQ(client.CallAsync(kDextioSelectorRegisterNotification, nullptr, 0, nullptr, 0, nullptr, nullptr),
             kIOReturnSuccess);
    // The entry queued before waited in the ring; the next kick takes it.
    CHECK_EQ(client.Call(kDextioSelectorKick, nullptr, 0), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
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
    CHECK_EQ(out[kDextioDeviceInfoConfigurationValue], 1);
}

TEST(selector_get_descriptor_reports_the_device_whole)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    auto get = [&](uint64_t kind, uint64_t index, void *buffer, size_t *size, uint64_t *length) {
        uint64_t input[kDextioGetDescriptorScalarCount] = { kind, index };
        uint32_t outputCount = 1;
        return IOConnectCallMethod(client.connect, kDextioSelectorGetDescriptor, input, kDextioGetDescriptorScalarCount,
                                   nullptr, 0, length, &outputCount, buffer, size);
    };
    // The device's own descriptor: vendor-specific class 0xff, three strings, one configuration.
    uint8_t device[64] = {};
    size_t size = sizeof(device);
    uint64_t length = 0;
    CHECK_EQ(get(kDextioDescriptorDevice, 0, device, &size, &length), kIOReturnSuccess);
    CHECK_EQ(length, 18u);
    CHECK_EQ(size, 18u);
    CHECK_EQ(device[1], kIOUSBDescriptorTypeDevice);
    CHECK_EQ(device[4], 0xff);
    CHECK_EQ(device[14], 1);
    CHECK_EQ(device[17], 1);
    // The configuration, whole: both alternate settings of interface 0 and all their endpoints.
    std::vector<uint8_t> configuration(4096);
    size = configuration.size();
    CHECK_EQ(get(kDextioDescriptorConfiguration, 0, configuration.data(), &size, &length), kIOReturnSuccess);
    CHECK_EQ(length, 69u);
    CHECK_EQ(size, 69u);
    CHECK_EQ(configuration[1], kIOUSBDescriptorTypeConfiguration);
    CHECK_EQ(configuration[5], 1);
    int interfaces = 0;
    for (size_t offset = 0; offset + 1 < size && configuration[offset] != 0; offset += configuration[offset]) {
        interfaces += configuration[offset + 1] == kIOUSBDescriptorTypeInterface;
    }
    CHECK_EQ(interfaces, 2);
    // A buffer too small gets the start and the whole length; a descriptor-sized one the rest.
    uint8_t small[9] = {};
    size = sizeof(small);
    CHECK_EQ(get(kDextioDescriptorConfiguration, 0, small, &size, &length), kIOReturnSuccess);
    CHECK_EQ(size, 9u);
    CHECK_EQ(length, 69u);
    std::vector<uint8_t> large(8192, 0xee);
    size = large.size();
    CHECK_EQ(get(kDextioDescriptorConfiguration, 0, large.data(), &size, &length), kIOReturnSuccess);
    CHECK(memcmp(large.data(), configuration.data(), 69) == 0);
    CHECK_EQ(large[69], 0xee);
    // No such descriptor, no room at all.
    size = configuration.size();
    CHECK_EQ(get(kDextioDescriptorConfiguration, 1, configuration.data(), &size, &length), kIOReturnBadArgument);
    CHECK_EQ(get(kDextioDescriptorDevice, 1, configuration.data(), &size, &length), kIOReturnBadArgument);
    CHECK_EQ(get(7, 0, configuration.data(), &size, &length), kIOReturnBadArgument);
    CHECK_EQ(get(kDextioDescriptorDevice, 0, nullptr, nullptr, &length), kIOReturnBadArgument);
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
    // Entries of the submission ring are checked as call arguments are; a refused one completes at
    // once with its tag and the IOReturn.
    CHECK_EQ(client.Refused(0x83, 0, 64, 0, 1), kIOReturnBadArgument);          // no such pipe
    CHECK_EQ(client.Refused(0x00, 0, 64, 0, 2), kIOReturnBadArgument);          // the control pipe
    CHECK_EQ(client.Refused(0x81, kDextioSlotsPerPipe, 64, 0, 3), kIOReturnBadArgument);
    CHECK_EQ(client.Refused(0x81, 0, kDextioSlotCapacity + 1, 0, 4), kIOReturnBadArgument);
    CHECK_EQ(client.Ring()->header.completionCount, 4u);
    // A structure next to the kick.
    uint8_t stray[8] = {};
    CHECK_EQ(client.CallSync(kDextioSelectorKick, nullptr, 0, stray, sizeof(stray), nullptr, nullptr),
             kIOReturnBadArgument);
}

TEST(selector_memory_types)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    const uint64_t bad[] = {
        0,                                                      // kind 0
        6u << 24,                                               // unknown kind
        DextioMemoryTypeCompletionConsumer() | 1,               // consumer page with a slot
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

TEST(selector_in_slots_are_writable)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint8_t *in = client.Slot(0x81, 0);
    CHECK(in != nullptr);
    // A stray write from the app neither faults nor reaches the dext: the next IN transfer
    // overwrites what it covers with the device's bytes.
    memset(in, 0xee, kDextioSlotCapacity);
    CHECK_EQ(client.SubmitSlot(0x81, 0, 1000, 1000, 1), kIOReturnSuccess);
    DextioCompletion completion;
    CHECK(client.Wait(1, &completion));
    CHECK_EQ(completion.status, kIOReturnSuccess);
    CHECK_EQ(completion.bytes, 1000u);
    bool pattern = true;
    for (size_t i = 0; i < 1000; i++) {
        pattern = pattern && in[i] == (i % 512) % 63;
    }
    CHECK(pattern);
    CHECK_EQ(in[1000], 0xee);
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

    // wLength disagreeing with the structure, fields out of range, a timeout beyond the bound.
    uint64_t input[kDextioControlScalarCount] = { 0x40, 0x5b, 0, 0, 8, 1000 };
    CHECK_EQ(client.CallControl(kDextioSelectorControlOut, input, data, 16, nullptr, nullptr), kIOReturnBadArgument);
    uint64_t wide[kDextioControlScalarCount] = { 0x40, 0x15b, 0, 0, 0, 1000 };
    CHECK_EQ(client.CallControl(kDextioSelectorControlOut, wide, nullptr, 0, nullptr, nullptr), kIOReturnBadArgument);
    uint64_t forever[kDextioControlScalarCount] = { 0x40, 0x5b, 0, 0, 0, kDextioControlTimeoutMaxMs + 1 };
    CHECK_EQ(client.CallControl(kDextioSelectorControlOut, forever, nullptr, 0, nullptr, nullptr), kIOReturnBadArgument);
    // An IN data stage of up to 4096 bytes lands in the control buffer: a structure is refused.
    uint64_t read[kDextioControlScalarCount] = { 0xc0, 0x5c, 0, 0, 16, 1000 };
    size_t size = 16;
    CHECK_EQ(client.CallControl(kDextioSelectorControlIn, read, nullptr, 0, back, &size), kIOReturnBadArgument);
    CHECK_EQ(client.OddNotifications(), 0u);
}

TEST(selector_control_buffer_is_read_only_and_one_request_at_a_time)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    // The dext maps it read-only: the app reads IN data stages from it and cannot write into what
    // the dext sends to the device.
    CHECK_EQ(IOConnectMapMemory64(client.connect, DextioMemoryTypeControl(), mach_task_self(), &address, &size,
                                  kIOMapAnywhere),
             kIOReturnSuccess);
    CHECK(size >= kDextioSlotCapacity);
    CHECK(ProtectionOf(reinterpret_cast<void *>(address)) == "r--s");
    // A second request while one is in flight is refused; the first still completes.
    DextioHostGadgetInjectControlTimeout(1);
    CHECK_EQ(client.StartControlIn(0xc0, 0x5c, 16, 200), kIOReturnSuccess);
    uint64_t input[kDextioControlScalarCount] = { 0xc0, 0x5c, 0, 0, 16, 100 };
    uint64_t reference[kOSAsyncRef64Count] = {};
    CHECK_EQ(IOConnectCallAsyncMethod(client.connect, kDextioSelectorControlIn, IONotificationPortGetMachPort(client.port),
                                      reference, kIOAsyncCalloutCount, input, kDextioControlScalarCount, nullptr, 0,
                                      nullptr, nullptr, nullptr, nullptr),
             kIOReturnBusy);
    IOReturn status = kIOReturnSuccess;
    uint64_t bytes = 0;
    CHECK(client.FinishControl(&status, &bytes));
    CHECK_EQ(status, kIOReturnTimeout);
}

TEST(selector_control_data_stage_above_4096_is_a_descriptor)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    // GET_DESCRIPTOR(configuration) answers short whatever wLength asks for: by value at 4096,
    // through the output descriptor from 4097 to 65535, with the same bytes.
    std::vector<uint8_t> byValue(4096);
    uint64_t bytes = 0;
    CHECK_EQ(client.ControlIn(0x80, 0x06, 0x0200, 0, byValue.data(), 4096, &bytes), kIOReturnSuccess);
    CHECK_EQ(bytes, 69);
    CHECK_EQ(byValue[1], 2);
    CHECK_EQ(byValue[2] | byValue[3] << 8, 69);
    for (uint16_t length : { 4097, 65535 }) {
        std::vector<uint8_t> large(length, 0xee);
        bytes = 0;
        CHECK_EQ(client.ControlIn(0x80, 0x06, 0x0200, 0, large.data(), length, &bytes), kIOReturnSuccess);
        CHECK_EQ(bytes, 69);
        CHECK(memcmp(large.data(), byValue.data(), 69) == 0);
        CHECK_EQ(large[69], 0xee);  // the device wrote the app's buffer itself, and only what it sent
    }
    // An output descriptor larger than wLength holds the data stage too.
    std::vector<uint8_t> roomy(8192, 0xee);
    size_t roomySize = roomy.size();
    uint64_t getDescriptor[kDextioControlScalarCount] = { 0x80, 0x06, 0x0200, 0, 5000, 1000 };
    CHECK_EQ(client.CallControl(kDextioSelectorControlIn, getDescriptor, nullptr, 0, roomy.data(), &roomySize),
             kIOReturnSuccess);
    IOReturn status = kIOReturnError;
    CHECK(client.FinishControl(&status, &bytes));
    CHECK_EQ(status, kIOReturnSuccess);
    CHECK_EQ(bytes, 69);
    CHECK(memcmp(roomy.data(), byValue.data(), 69) == 0);

    // Gadget zero's vendor requests use its 4096-byte ep0 buffer: a longer data stage reaches the
    // device, which stalls it.
    std::vector<uint8_t> out(65535, 0x11);
    CHECK_EQ(client.ControlOut(0x40, 0x5b, 0, 0, out.data(), 4097, &bytes), kUSBHostReturnPipeStalled);
    CHECK_EQ(client.ControlOut(0x40, 0x5b, 0, 0, out.data(), 65535, &bytes), kUSBHostReturnPipeStalled);
    CHECK_EQ(client.ControlIn(0xc0, 0x5c, 0, 0, out.data(), 5000, &bytes), kUSBHostReturnPipeStalled);
    CHECK_EQ(client.ControlOut(0x40, 0x5b, 0, 0, out.data(), 4096, &bytes), kIOReturnSuccess);
    CHECK_EQ(bytes, 4096);
}

TEST(selector_control_structure_must_match_wlength)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    std::vector<uint8_t> buffer(65536 + 8, 0);
    uint64_t bytes = 0;
    // The call's error, or the completion's status once the dext accepted it.
    auto finish = [&](kern_return_t ret) {
        IOReturn status = kIOReturnError;
        if (ret != kIOReturnSuccess) {
            return ret;
        }
        return client.FinishControl(&status, &bytes) ? status : kIOReturnTimeout;
    };
    auto in = [&](uint64_t requestType, uint64_t length, size_t outputSize) {
        uint64_t input[kDextioControlScalarCount] = { requestType, 0x06, 0x0200, 0, length, 1000 };
        size_t size = outputSize;
        return finish(client.CallControl(kDextioSelectorControlIn, input, nullptr, 0, outputSize ? buffer.data() : nullptr,
                                         outputSize ? &size : nullptr));
    };
    auto out = [&](uint64_t requestType, uint64_t length, size_t inputSize) {
        uint64_t input[kDextioControlScalarCount] = { requestType, 0x5b, 0, 0, length, 1000 };
        return finish(client.CallControl(kDextioSelectorControlOut, input, inputSize ? buffer.data() : nullptr,
                                         inputSize, nullptr, nullptr));
    };
    CHECK_EQ(in(0x80, 8192, 8192), kIOReturnSuccess);
    CHECK_EQ(in(0x80, 5000, 4096), kIOReturnBadArgument);    // more than 4096 bytes need a descriptor
    CHECK_EQ(in(0x80, 100, 8192), kIOReturnBadArgument);     // a descriptor for a by-value data stage
    CHECK_EQ(in(0x80, 4096, 4097), kIOReturnBadArgument);
    CHECK_EQ(in(0x80, 4096, 4096), kIOReturnBadArgument);    // by value, the data stage is not the structure
    CHECK_EQ(in(0x80, 4096, 0), kIOReturnSuccess);
    CHECK_EQ(in(0x80, 8192, 5000), kIOReturnBadArgument);    // a descriptor shorter than wLength
    CHECK_EQ(in(0x80, 65536, 65536), kIOReturnBadArgument);  // wLength is 16 bits
    CHECK_EQ(in(0x00, 8192, 8192), kIOReturnBadArgument);    // an OUT request on ControlIn
    CHECK_EQ(out(0x40, 8192, 8192), kUSBHostReturnPipeStalled);
    CHECK_EQ(out(0x40, 5000, 8192), kIOReturnBadArgument);   // the descriptor must be wLength exactly
    CHECK_EQ(out(0x40, 8192, 5000), kIOReturnBadArgument);
    CHECK_EQ(out(0x40, 100, 5000), kIOReturnBadArgument);
    CHECK_EQ(out(0x40, 4096, 4097), kIOReturnBadArgument);
    CHECK_EQ(out(0x40, 4097, 4096), kIOReturnBadArgument);
    CHECK_EQ(out(0x40, 8192, 0), kIOReturnBadArgument);
    CHECK_EQ(out(0x40, 65536, 65536), kIOReturnBadArgument);
    CHECK_EQ(out(0xc0, 8192, 8192), kIOReturnBadArgument);   // an IN request on ControlOut

    // A structure of the other direction next to the data stage.
    uint64_t getDescriptor[kDextioControlScalarCount] = { 0x80, 0x06, 0x0200, 0, 8192, 1000 };
    size_t size = 8192;
    CHECK_EQ(client.CallControl(kDextioSelectorControlIn, getDescriptor, buffer.data(), 8192, buffer.data(), &size),
             kIOReturnBadArgument);
    uint64_t write[kDextioControlScalarCount] = { 0x40, 0x5b, 0, 0, 8192, 1000 };
    size = 8192;
    CHECK_EQ(client.CallControl(kDextioSelectorControlOut, write, buffer.data(), 8192, buffer.data(), &size),
             kIOReturnBadArgument);
    // Control requests complete on their own action, never in the ring.
    CHECK_EQ(client.Ring()->header.completionCount, 0u);
    CHECK_EQ(client.OddNotifications(), 0u);
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
    CHECK_EQ(client.Refused(0x82, 0, 64, 0, 1), kIOReturnBadArgument);  // gone with alt 0
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
