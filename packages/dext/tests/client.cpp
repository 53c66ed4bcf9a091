#include "client.h"

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
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

kern_return_t TestClient::Open(bool registerNotification)
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
        std::lock_guard<std::mutex> lock(mutex);
        ring = reinterpret_cast<const DextioCompletionRing *>(address);
        ret = IOConnectMapMemory64(connect, DextioMemoryTypeCompletionConsumer(), mach_task_self(), &address, &size,
                                   kIOMapAnywhere);
        if (ret == kIOReturnSuccess) {
            consumer = reinterpret_cast<DextioCompletionConsumer *>(address);
            ret = IOConnectMapMemory64(connect, DextioMemoryTypeSubmissionRing(), mach_task_self(), &address, &size,
                                       kIOMapAnywhere);
        }
        if (ret == kIOReturnSuccess) {
            submissions = reinterpret_cast<DextioSubmissionRing *>(address);
        }
    }
    if (ret == kIOReturnSuccess && registerNotification) {
        ret = CallAsync(kDextioSelectorRegisterNotification, nullptr, 0, nullptr, 0, nullptr, nullptr);
    }
    return ret;
}

kern_return_t TestClient::CloseConnection()
{
    // The mappings go away with the connection, at a time the kernel chooses: stop draining the
    // ring first, since doorbells for the transfers the close aborts may still arrive.
    {
        std::lock_guard<std::mutex> lock(mutex);
        ring = nullptr;
        consumer = nullptr;
        controlBuffer = nullptr;
        submissions = nullptr;
    }
    kern_return_t ret = kIOReturnSuccess;
    if (connect != IO_OBJECT_NULL) {
        ret = IOServiceClose(connect);
        connect = IO_OBJECT_NULL;
    }
    return ret;
}

kern_return_t TestClient::Close(bool wait)
{
    bool wasOpen = connect != IO_OBJECT_NULL;
    kern_return_t ret = CloseConnection();
    if (wasOpen && wait && registered && !WaitStopped()) {
        fprintf(stderr, "    no stopped notice within 5 s of IOServiceClose\n");
    }
    registered = false;
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

bool TestClient::WaitStopped(int timeoutMs)
{
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return stopped; });
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

kern_return_t TestClient::CallSync(uint32_t selector, const uint64_t *input, uint32_t inputCount,
                                   const void *inputStruct, size_t inputStructSize, void *outputStruct,
                                   size_t *outputStructSize)
{
    return IOConnectCallMethod(connect, selector, input, inputCount, inputStruct, inputStructSize, nullptr, nullptr,
                               outputStruct, outputStructSize);
}

kern_return_t TestClient::CallAsync(uint32_t selector, const uint64_t *input, uint32_t inputCount,
                                    const void *inputStruct, size_t inputStructSize, void *outputStruct,
                                    size_t *outputStructSize)
{
    uint64_t reference[kOSAsyncRef64Count] = {};
    reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uint64_t>(&TestClient::Notification);
    reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uint64_t>(this);
    kern_return_t ret = IOConnectCallAsyncMethod(connect, selector, IONotificationPortGetMachPort(port), reference,
                                                 kIOAsyncCalloutCount, input, inputCount, inputStruct, inputStructSize,
                                                 nullptr, nullptr, outputStruct, outputStructSize);
    if (ret == kIOReturnSuccess && selector == kDextioSelectorRegisterNotification) {
        registered = true;
    }
    return ret;
}

kern_return_t TestClient::SubmitSlot(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag)
{
    kern_return_t ret = Queue(pipe, slot, length, timeoutMs, tag);
    return ret != kIOReturnSuccess ? ret : Flush();
}

kern_return_t TestClient::Submit(const DextioSubmission &entry)
{
    if (submissions == nullptr || ring == nullptr) {
        return kIOReturnNotOpen;
    }
    {
        std::lock_guard<std::mutex> lock(pushMutex);
        if (!DextioSubmissionRingPush(submissions, ring, &entry)) {
            return kIOReturnNoResources;
        }
    }
    return Flush();
}

kern_return_t TestClient::Queue(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag)
{
    DextioSubmission entry = {};
    entry.tag = tag;
    entry.length = length;
    entry.timeoutMs = timeoutMs;
    entry.pipe = pipe;
    entry.slot = slot;
    if (submissions == nullptr || ring == nullptr) {
        return kIOReturnNotOpen;
    }
    std::lock_guard<std::mutex> lock(pushMutex);
    return DextioSubmissionRingPush(submissions, ring, &entry) ? kIOReturnSuccess : kIOReturnNoResources;
}

kern_return_t TestClient::Flush()
{
    // The dext took everything already (it does after each completion): no message needed.
    if (submissions == nullptr || ring == nullptr || !DextioSubmissionRingPending(submissions, ring)) {
        return kIOReturnSuccess;
    }
    kicks++;
    return Call(kDextioSelectorKick, nullptr, 0);
}

IOReturn TestClient::Refused(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag)
{
    kern_return_t ret = SubmitSlot(pipe, slot, length, timeoutMs, tag);
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    DextioCompletion completion;
    if (!Wait(tag, &completion, 1000)) {
        return kIOReturnTimeout;
    }
    return completion.status;
}

kern_return_t TestClient::SubmitDescriptor(uint8_t pipe, void *buffer, size_t length, uint32_t timeoutMs,
                                           uint64_t tag)
{
    uint64_t input[kDextioSubmitDescriptorScalarCount] = { pipe, length, timeoutMs, tag };
    // Order per pipe across both paths: what the ring holds reaches the dext first.
    Flush();
    if (pipe & 0x80) {
        size_t size = length;
        return CallSync(kDextioSelectorSubmitDescriptor, input, kDextioSubmitDescriptorScalarCount, nullptr, 0, buffer,
                        &size);
    }
    return CallSync(kDextioSelectorSubmitDescriptor, input, kDextioSubmitDescriptorScalarCount, buffer, length,
                    nullptr, nullptr);
}

kern_return_t TestClient::Call(uint32_t selector, const uint64_t *input, uint32_t inputCount, uint64_t *output,
                               uint32_t *outputCount)
{
    return IOConnectCallScalarMethod(connect, selector, input, inputCount, output, outputCount);
}

const uint8_t *TestClient::ControlBuffer()
{
    if (controlBuffer == nullptr) {
        mach_vm_address_t address = 0;
        mach_vm_size_t size = 0;
        if (IOConnectMapMemory64(connect, DextioMemoryTypeControl(), mach_task_self(), &address, &size,
                                 kIOMapAnywhere) == kIOReturnSuccess &&
            size >= kDextioSlotCapacity) {
            controlBuffer = reinterpret_cast<const uint8_t *>(address);
        }
    }
    return controlBuffer;
}

kern_return_t TestClient::StartControl(bool in, uint8_t requestType, uint8_t request, uint16_t value, uint16_t index,
                                       const void *outData, void *inData, uint16_t length, uint32_t timeoutMs)
{
    uint64_t input[kDextioControlScalarCount] = { requestType, request, value, index, length, timeoutMs };
    // The structure is the data stage only above kDextioSlotCapacity bytes, or an OUT data stage.
    bool byValue = length <= kDextioSlotCapacity;
    size_t outputSize = length;
    return CallControl(in ? kDextioSelectorControlIn : kDextioSelectorControlOut, input, in ? nullptr : outData,
                       in ? 0 : length, in && !byValue ? inData : nullptr, in && !byValue ? &outputSize : nullptr);
}

kern_return_t TestClient::CallControl(uint32_t selector, const uint64_t *input, const void *inputStruct,
                                      size_t inputStructSize, void *outputStruct, size_t *outputStructSize)
{
    {
        std::lock_guard<std::mutex> lock(mutex);
        controlDone = false;
    }
    uint64_t reference[kOSAsyncRef64Count] = {};
    reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uint64_t>(&TestClient::ControlDone);
    reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uint64_t>(this);
    return IOConnectCallAsyncMethod(connect, selector, IONotificationPortGetMachPort(port), reference,
                                    kIOAsyncCalloutCount, input, kDextioControlScalarCount, inputStruct,
                                    inputStructSize, nullptr, nullptr, outputStruct, outputStructSize);
}

kern_return_t TestClient::StartControlIn(uint8_t requestType, uint8_t request, uint16_t length, uint32_t timeoutMs)
{
    return StartControl(true, requestType, request, 0, 0, nullptr, nullptr, length, timeoutMs);
}

bool TestClient::FinishControl(IOReturn *status, uint64_t *bytes, int timeoutMs)
{
    std::unique_lock<std::mutex> lock(mutex);
    if (!changed.wait_for(lock, std::chrono::milliseconds(timeoutMs), [&] { return controlDone; })) {
        return false;
    }
    *status = controlStatus;
    *bytes = controlBytes;
    return true;
}

kern_return_t TestClient::ControlIn(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index, void *data,
                                    uint16_t length, uint64_t *bytes, uint32_t timeoutMs)
{
    kern_return_t ret = StartControl(true, requestType, request, value, index, nullptr, data, length, timeoutMs);
    IOReturn status = kIOReturnTimeout;
    if (ret == kIOReturnSuccess && !FinishControl(&status, bytes, static_cast<int>(timeoutMs) + 5000)) {
        return kIOReturnTimeout;
    }
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    if (status == kIOReturnSuccess && length <= kDextioSlotCapacity && *bytes > 0) {
        const uint8_t *buffer = ControlBuffer();
        if (buffer == nullptr || *bytes > length) {
            return kIOReturnError;
        }
        memcpy(data, buffer, *bytes);
    }
    return status;
}

kern_return_t TestClient::ControlOut(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index,
                                     const void *data, uint16_t length, uint64_t *bytes, uint32_t timeoutMs)
{
    kern_return_t ret = StartControl(false, requestType, request, value, index, data, nullptr, length, timeoutMs);
    IOReturn status = kIOReturnTimeout;
    if (ret == kIOReturnSuccess && !FinishControl(&status, bytes, static_cast<int>(timeoutMs) + 5000)) {
        return kIOReturnTimeout;
    }
    return ret != kIOReturnSuccess ? ret : status;
}

void TestClient::ControlDone(void *refcon, IOReturn result, void **args, uint32_t numArgs)
{
    auto *client = static_cast<TestClient *>(refcon);
    std::lock_guard<std::mutex> lock(client->mutex);
    client->controlStatus = result;
    client->controlBytes = numArgs == kDextioControlCompletionArgumentCount ? reinterpret_cast<uint64_t>(args[0]) : 0;
    if (numArgs != kDextioControlCompletionArgumentCount) {
        client->oddNotifications++;
    }
    client->controlDone = true;
    client->changed.notify_all();
}

void TestClient::Collect(void *context, const DextioCompletion *completion)
{
    static_cast<TestClient *>(context)->completions[completion->tag] = *completion;
}

void TestClient::Notification(void *refcon, IOReturn, void **args, uint32_t numArgs)
{
    auto *client = static_cast<TestClient *>(refcon);
    std::lock_guard<std::mutex> lock(client->mutex);
    uint64_t kind = numArgs == kDextioNotificationArgumentCount ? reinterpret_cast<uint64_t>(args[0]) : 0;
    if (kind == kDextioNotificationDoorbell) {
        client->doorbells++;
        if (client->ring != nullptr) {
            DextioCompletionRingDrain(client->ring, client->consumer, &TestClient::Collect, client);
            // Entries the dext left for want of room in the ring can go now.
            client->Flush();
        }
    } else if (kind == kDextioNotificationStopped) {
        client->stopped = true;
    } else {
        client->oddNotifications++;
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

uint64_t TestClient::OddNotifications()
{
    std::lock_guard<std::mutex> lock(mutex);
    return oddNotifications;
}

DextioHostLiveCounts SettledCounts()
{
    // A closed client's termination finishes on the kernel's termination thread, after the stopped
    // notice: its mappings and last references go then.
    Eventually([] {
        DextioHostLiveCounts c = LiveCounts();
        return c.clients == 0 && c.connections == 0 && c.actions == 0 && c.mappings == 0 && c.descriptors == 0;
    });
    return LiveCounts();
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

std::string ProtectionOf(const void *address)
{
    std::ifstream maps("/proc/self/maps");
    std::string line;
    uintptr_t target = reinterpret_cast<uintptr_t>(address);
    while (std::getline(maps, line)) {
        std::istringstream fields(line);
        std::string range, protection;
        fields >> range >> protection;
        size_t dash = range.find('-');
        uintptr_t start = std::stoull(range.substr(0, dash), nullptr, 16);
        uintptr_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
        if (target >= start && target < end) {
            return protection;
        }
    }
    return "";
}
