// Rules of Apple's runtime that the host runtime keeps, checked directly.
#include <DriverKit/DriverKit.h>
#include <USBDriverKit/IOUSBHostPipe.h>
#include <IOKit/IOKitLib.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "client.h"
#include "harness.h"
// The runtime's own state: what the kernel keeps in an async call's reference.
#include "../host/src/internal.h"

TEST(runtime_osdata_copies)
{
    char bytes[4] = { 1, 2, 3, 4 };
    OSData *data = OSData::withBytesNoCopy(bytes, sizeof(bytes));
    bytes[0] = 9;
    CHECK(data != nullptr);
    CHECK_EQ(static_cast<const char *>(data->getBytesNoCopy())[0], 1);
    CHECK_EQ(data->getLength(), 4u);
    CHECK(data->getBytesNoCopy(2, 3) == nullptr);
    OSSafeReleaseNULL(data);
    CHECK(data == nullptr);
}

TEST(runtime_reference_counting)
{
    DextioHostLiveCounts before = SettledCounts();
    IOBufferMemoryDescriptor *buffer = nullptr;
    CHECK_EQ(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, 4096, 0, &buffer), kIOReturnSuccess);
    CHECK_EQ(buffer->HostRetainCount(), 1);  // returned with one reference, owned by the caller
    IOMemoryMap *map = nullptr;
    CHECK_EQ(buffer->CreateMapping(0, 0, 0, 0, 0, &map), kIOReturnSuccess);
    CHECK_EQ(buffer->HostRetainCount(), 2);  // the map keeps its descriptor
    CHECK_EQ(LiveCounts().mappings, before.mappings + 1);
    OSSafeReleaseNULL(buffer);
    memset(reinterpret_cast<void *>(map->GetAddress()), 0xa5, 4096);
    OSSafeReleaseNULL(map);
    CHECK(LiveCountsEqual(LiveCounts(), before));
}

TEST(runtime_buffer_rules)
{
    IOBufferMemoryDescriptor *buffer = nullptr;
    CHECK_EQ(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionIn, 0, 0, &buffer), kIOReturnBadArgument);
    CHECK_EQ(IOBufferMemoryDescriptor::Create(0x100, 16, 0, &buffer), kIOReturnBadArgument);
    CHECK_EQ(IOBufferMemoryDescriptor::Create(kIOMemoryDirectionIn, 16, 0, &buffer), kIOReturnSuccess);
    IOMemoryMap *map = nullptr;
    CHECK_EQ(buffer->CreateMapping(0, 0, 0, 0, 4096, &map), kIOReturnBadArgument);  // alignment must be 0
    CHECK_EQ(buffer->CreateMapping(0, 0, 8, 16, 0, &map), kIOReturnBadArgument);   // past the end
    CHECK_EQ(buffer->SetLength(17), kIOReturnBadArgument);
    OSSafeReleaseNULL(buffer);
}

TEST(runtime_scalar_limit_is_16)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint64_t input[17] = {};
    CHECK_EQ(client.Call(kDextioSelectorAbortPipe, input, 17), kIOReturnBadArgument);
    uint64_t output[20] = {};
    uint32_t outputCount = 20;  // more than 16 is clamped, then the dext's count check applies
    CHECK_EQ(client.Call(kDextioSelectorGetDeviceInfo, nullptr, 0, output, &outputCount), kIOReturnBadArgument);
    CHECK_EQ(client.Close(), kIOReturnSuccess);
}

TEST(runtime_async_reference_count_is_checked)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    uint64_t reference[kOSAsyncRef64Count] = {};
    mach_port_t wake = IONotificationPortGetMachPort(client.port);
    CHECK_EQ(IOConnectCallAsyncScalarMethod(client.connect, kDextioSelectorRegisterNotification, wake, reference, 2,
                                            nullptr, 0, nullptr, nullptr),
             kIOReturnBadArgument);
    CHECK_EQ(IOConnectCallAsyncScalarMethod(client.connect, kDextioSelectorRegisterNotification, wake, reference, 9,
                                            nullptr, 0, nullptr, nullptr),
             kIOReturnBadArgument);
    CHECK_EQ(client.Close(), kIOReturnSuccess);
}

TEST(runtime_bad_handles)
{
    io_connect_t connect = 0;
    CHECK_EQ(IOServiceOpen(0x7fffffff, mach_task_self(), 0, &connect), kIOReturnBadArgument);
    CHECK_EQ(IOServiceClose(0x7fffffff), kIOReturnBadArgument);
    CHECK_EQ(IOConnectCallScalarMethod(0x7fffffff, 0, nullptr, 0, nullptr, nullptr), kIOReturnBadArgument);
    CHECK_EQ(IOObjectRelease(0x7fffffff), kIOReturnBadArgument);
    CHECK(IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("NoSuchDriver")) == IO_OBJECT_NULL);
}

TEST(runtime_dispatch_queue_is_serial)
{
    dispatch_queue_t queue = dispatch_queue_create("test", DISPATCH_QUEUE_SERIAL);
    int storage[100] = {};
    int *order = storage;
    __block int next = 0;
    for (int i = 0; i < 100; i++) {
        dispatch_async(queue, ^{ order[next++] = i; });
    }
    dispatch_sync(queue, ^{});
    bool inOrder = next == 100;
    for (int i = 0; i < 100 && inOrder; i++) {
        inOrder = order[i] == i;
    }
    CHECK(inOrder);
    dispatch_release(queue);
}

TEST(runtime_read_only_mapping_faults_on_write)
{
    TestClient client;
    CHECK_EQ(client.Open(), kIOReturnSuccess);
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    CHECK_EQ(IOConnectMapMemory64(client.connect, DextioMemoryTypeSlot(0x01, 7), mach_task_self(), &address, &size,
                                  kIOMapAnywhere | kIOMapReadOnly),
             kIOReturnSuccess);
    auto *memory = reinterpret_cast<volatile uint8_t *>(address);
    CHECK_EQ(memory[0], 0);  // readable
    fflush(nullptr);
    pid_t child = fork();
    if (child == 0) {
        signal(SIGSEGV, SIG_DFL);  // die quietly, even under AddressSanitizer
        memory[0] = 1;
        _exit(0);
    }
    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    CHECK_EQ(client.Close(), kIOReturnSuccess);
}

namespace {

// An object of class T with a queue of its own, as the DriverKit runtime gives every service.
template <class T>
T *WithQueue()
{
    T *object = new T;
    IODispatchQueue *queue = nullptr;
    IODispatchQueue::Create("test", 0, 0, &queue);
    object->HostSetDefaultQueue(queue);
    OSSafeReleaseNULL(queue);
    return object;
}

class QueuedObject : public OSObject {};

// A user client the test drives directly, to call AsyncCompletion as a dext would.
class DirectUserClient : public IOUserClient {};

// Records where its messages arrive.
class RecordingObject : public OSObject {
public:
    kern_return_t Dispatch(const IORPC rpc) override
    {
        onQueue = HostDefaultQueue()->OnQueue();
        thread = std::this_thread::get_id();
        msgid = rpc.msgid;
        delivered = true;
        return kIOReturnSuccess;
    }
    std::atomic<bool> delivered{ false };
    bool onQueue = false;
    std::thread::id thread;
    uint64_t msgid = 0;
};

struct Received {
    std::mutex mutex;
    std::condition_variable changed;
    int messages = 0;
    uint32_t lastCount = 0;
};

void Receive(void *refcon, IOReturn, void **, uint32_t numArgs)
{
    auto *received = static_cast<Received *>(refcon);
    std::lock_guard<std::mutex> lock(received->mutex);
    received->messages++;
    received->lastCount = numArgs;
    received->changed.notify_all();
}

} // namespace

TEST(runtime_cancel_releases_the_target)
{
    DextioHostLiveCounts before = SettledCounts();
    QueuedObject *target = WithQueue<QueuedObject>();
    OSAction *action = nullptr;
    CHECK_EQ(OSAction::Create(target, 1, 2, 0, &action), kIOReturnSuccess);
    CHECK_EQ(target->HostRetainCount(), 2);  // the action holds its target...
    std::atomic<bool> handled{ false };
    std::atomic<bool> *flag = &handled;
    CHECK_EQ(action->Cancel(^{
                 flag->store(true);
             }),
             kIOReturnSuccess);
    // ...until it is cancelled, so that a target which owns its actions can be freed.
    CHECK(Eventually([&] { return handled.load() && target->HostRetainCount() == 1; }));
    CHECK_EQ(action->Cancel(nullptr), kIOReturnSuccess);  // once is enough; a second is harmless
    OSSafeReleaseNULL(target);
    OSSafeReleaseNULL(action);
    CHECK(Eventually([&] { return LiveCountsEqual(LiveCounts(), before); }));
}

TEST(runtime_async_completion_above_16_arguments_is_dropped)
{
    DextioHostLiveCounts before = SettledCounts();
    Received received;
    IONotificationPortRef port = IONotificationPortCreate(kIOMainPortDefault);
    dispatch_queue_t queue = dispatch_queue_create("test", DISPATCH_QUEUE_SERIAL);
    IONotificationPortSetDispatchQueue(port, queue);
    DirectUserClient *client = WithQueue<DirectUserClient>();
    OSAction *action = nullptr;
    CHECK_EQ(OSAction::Create(client, IOUserClient_AsyncCompletion_ID, IOUserClient_AsyncCompletion_ID,
                              sizeof(HostAsyncReference), &action),
             kIOReturnSuccess);
    auto *reference = static_cast<HostAsyncReference *>(action->GetReference());
    reference->wakePort = IONotificationPortGetMachPort(port);
    reference->referenceCount = kIOAsyncCalloutCount;
    reference->reference[kIOAsyncCalloutFuncIndex] = reinterpret_cast<uint64_t>(&Receive);
    reference->reference[kIOAsyncCalloutRefconIndex] = reinterpret_cast<uint64_t>(&received);
    uint64_t data[17] = {};
    // xnu refuses more than 16 arguments and sends nothing; 16 arrive.
    client->AsyncCompletion(action, kIOReturnSuccess, data, 17);
    client->AsyncCompletion(action, kIOReturnSuccess, data, 16);
    {
        std::unique_lock<std::mutex> lock(received.mutex);
        CHECK(received.changed.wait_for(lock, std::chrono::seconds(5), [&] { return received.messages > 0; }));
    }
    dispatch_sync(queue, ^{
                  });
    CHECK_EQ(received.messages, 1);
    CHECK_EQ(received.lastCount, 16u);
    OSSafeReleaseNULL(action);
    OSSafeReleaseNULL(client);
    IONotificationPortDestroy(port);
    dispatch_release(queue);
    CHECK(Eventually([&] { return LiveCountsEqual(LiveCounts(), before); }));
}

TEST(runtime_completions_run_on_the_targets_queue)
{
    DextioHostLiveCounts before = SettledCounts();
    RecordingObject *target = WithQueue<RecordingObject>();
    OSAction *action = nullptr;
    CHECK_EQ(OSAction::Create(target, 0x1234, IOUSBHostPipe_CompleteAsyncIO_ID, 0, &action), kIOReturnSuccess);
    IOUSBHostPipe::CompleteAsyncIO_Msg message = { action, kIOReturnSuccess, 0, 0 };
    // Delivered from this thread, as the bus delivers: it runs on the target's queue, with the
    // target's method id.
    CHECK(action->HostDeliver(&message, sizeof(message), nullptr, nullptr));
    CHECK(Eventually([&] { return target->delivered.load(); }));
    CHECK(target->onQueue);
    CHECK(target->thread != std::this_thread::get_id());
    CHECK_EQ(target->msgid, 0x1234u);
    // Cancelled: nothing more is delivered.
    CHECK_EQ(action->Cancel(nullptr), kIOReturnSuccess);
    CHECK(!action->HostDeliver(&message, sizeof(message), nullptr, nullptr));
    OSSafeReleaseNULL(action);
    OSSafeReleaseNULL(target);
    CHECK(Eventually([&] { return LiveCountsEqual(LiveCounts(), before); }));
}
