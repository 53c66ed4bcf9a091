#include "client.h"

#include <chrono>
#include <cstring>
#include <thread>

#include "harness.h"

io_service_t FindDextService()
{
    return IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("DextioDriver"));
}

TestClient::~TestClient()
{
    Close();
}

kern_return_t TestClient::Open()
{
    io_service_t service = FindDextService();
    if (service == IO_OBJECT_NULL) {
        return kIOReturnNotFound;
    }
    kern_return_t ret = IOServiceOpen(service, mach_task_self(), 0, &connect);
    IOObjectRelease(service);
    if (ret != kIOReturnSuccess) {
        connect = IO_OBJECT_NULL;
        return ret;
    }
    port = IONotificationPortCreate(kIOMainPortDefault);
    queue = dispatch_queue_create("dextio.test.completions", DISPATCH_QUEUE_SERIAL);
    IONotificationPortSetDispatchQueue(port, queue);

    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    ret = IOConnectMapMemory64(connect, DextioMemoryTypeCompletionRing(), mach_task_self(), &address, &size,
                               kIOMapAnywhere);
    if (ret == kIOReturnSuccess) {
        ring = reinterpret_cast<DextioCompletionRing *>(address);
    }
    return ret;
}

kern_return_t TestClient::Close()
{
    // The mappings go away with the connection: stop draining the ring first, since doorbells for
    // the transfers the close aborts may still arrive.
    {
        std::lock_guard<std::mutex> lock(mutex);
        ring = nullptr;
    }
    kern_return_t ret = kIOReturnSuccess;
    if (connect != IO_OBJECT_NULL) {
        ret = IOServiceClose(connect);
        connect = IO_OBJECT_NULL;
    }
    if (port != nullptr) {
        IONotificationPortDestroy(port);
        port = nullptr;
    }
    if (queue != nullptr) {
        dispatch_release(queue);
        queue = nullptr;
    }
    slots.clear();
    return ret;
}

uint8_t *TestClient::Slot(uint8_t pipe, uint8_t slot)
{
    uint32_t type = DextioMemoryTypeSlot(pipe, slot);
    auto it = slots.find(type);
    if (it != slots.end()) {
        return it->second;
    }
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    if (IOConnectMapMemory64(connect, type, mach_task_self(), &address, &size, kIOMapAnywhere) != kIOReturnSuccess ||
        size != kDextioSlotCapacity) {
        return nullptr;
    }
    slots[type] = reinterpret_cast<uint8_t *>(address);
    return slots[type];
}

kern_return_t TestClient::CallAsync(uint32_t selector, const uint64_t *input, uint32_t inputCount,
                                    const void *inputStruct, size_t inputStructSize, void *outputStruct,
                                    size_t *outputStructSize)
{
    uint64_t reference[kOSAsyncRef64Count] = {};
    reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uint64_t>(&TestClient::Doorbell);
    reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uint64_t>(this);
    return IOConnectCallAsyncMethod(connect, selector, IONotificationPortGetMachPort(port), reference,
                                    kIOAsyncCalloutCount, input, inputCount, inputStruct, inputStructSize, nullptr,
                                    nullptr, outputStruct, outputStructSize);
}

kern_return_t TestClient::SubmitSlot(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag)
{
    uint64_t input[kDextioSubmitSlotScalarCount] = { pipe, slot, length, timeoutMs, tag };
    return CallAsync(kDextioSelectorSubmitSlot, input, kDextioSubmitSlotScalarCount, nullptr, 0, nullptr, nullptr);
}

kern_return_t TestClient::SubmitDescriptor(uint8_t pipe, void *buffer, size_t length, uint32_t timeoutMs,
                                           uint64_t tag)
{
    uint64_t input[kDextioSubmitDescriptorScalarCount] = { pipe, length, timeoutMs, tag };
    if (pipe & 0x80) {
        size_t size = length;
        return CallAsync(kDextioSelectorSubmitDescriptor, input, kDextioSubmitDescriptorScalarCount, nullptr, 0,
                         buffer, &size);
    }
    return CallAsync(kDextioSelectorSubmitDescriptor, input, kDextioSubmitDescriptorScalarCount, buffer, length,
                     nullptr, nullptr);
}

kern_return_t TestClient::Call(uint32_t selector, const uint64_t *input, uint32_t inputCount, uint64_t *output,
                               uint32_t *outputCount)
{
    return IOConnectCallScalarMethod(connect, selector, input, inputCount, output, outputCount);
}

kern_return_t TestClient::ControlIn(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index, void *data,
                                    uint16_t length, uint64_t *bytes)
{
    uint64_t input[kDextioControlScalarCount] = { requestType, request, value, index, length, 1000 };
    uint32_t outputCount = 1;
    size_t size = length;
    return IOConnectCallMethod(connect, kDextioSelectorControlIn, input, kDextioControlScalarCount, nullptr, 0, bytes,
                               &outputCount, data, &size);
}

kern_return_t TestClient::ControlOut(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index,
                                     const void *data, uint16_t length, uint64_t *bytes)
{
    uint64_t input[kDextioControlScalarCount] = { requestType, request, value, index, length, 1000 };
    uint32_t outputCount = 1;
    return IOConnectCallMethod(connect, kDextioSelectorControlOut, input, kDextioControlScalarCount, data, length,
                               bytes, &outputCount, nullptr, nullptr);
}

void TestClient::Collect(void *context, const DextioCompletion *completion)
{
    static_cast<TestClient *>(context)->completions[completion->tag] = *completion;
}

void TestClient::Doorbell(void *refcon, IOReturn, void **, uint32_t)
{
    auto *client = static_cast<TestClient *>(refcon);
    std::lock_guard<std::mutex> lock(client->mutex);
    client->doorbells++;
    if (client->ring != nullptr) {
        DextioCompletionRingDrain(client->ring, &TestClient::Collect, client);
    }
    client->changed.notify_all();
}

bool TestClient::Wait(uint64_t tag, DextioCompletion *completion, int timeoutMs)
{
    std::unique_lock<std::mutex> lock(mutex);
    bool found = changed.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                                  [&] { return completions.find(tag) != completions.end(); });
    if (found) {
        *completion = completions[tag];
        completions.erase(tag);
    }
    return found;
}

std::vector<DextioCompletion> TestClient::TakeAll(int timeoutMs)
{
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return !completions.empty(); });
    std::vector<DextioCompletion> taken;
    for (auto &entry : completions) {
        taken.push_back(entry.second);
    }
    completions.clear();
    return taken;
}

size_t TestClient::Completed()
{
    std::lock_guard<std::mutex> lock(mutex);
    return completions.size();
}

uint64_t TestClient::Doorbells()
{
    std::lock_guard<std::mutex> lock(mutex);
    return doorbells;
}

DextioHostLiveCounts LiveCounts()
{
    // The first IOKit call plugs in the virtual gadget and starts the dext: count from there.
    static const bool attached = IOObjectRelease(FindDextService()) == kIOReturnSuccess;
    (void)attached;
    DextioHostLiveCounts counts;
    DextioHostGetLiveCounts(&counts);
    return counts;
}

bool LiveCountsEqual(const DextioHostLiveCounts &a, const DextioHostLiveCounts &b)
{
    return a.objects == b.objects && a.descriptors == b.descriptors && a.actions == b.actions &&
           a.mappings == b.mappings && a.clients == b.clients && a.services == b.services &&
           a.queues == b.queues && a.connections == b.connections && a.notificationPorts == b.notificationPorts;
}
