// The client side of the dext, as the Node addon drives it: open the user client, map the slots
// and the completion ring, submit with IOConnectCallAsyncMethod, take the doorbell on the
// notification port's dispatch queue and drain the ring.
#pragma once

#include <IOKit/IOKitLib.h>
#include <dextio/abi.h>
#include <dextio/host.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

io_service_t FindDextService();

class TestClient {
public:
    TestClient() = default;
    ~TestClient();
    TestClient(const TestClient &) = delete;
    TestClient &operator=(const TestClient &) = delete;

    // Opens, maps the ring and the consumer page, and registers for notifications (unless told
    // not to): what the addon does.
    kern_return_t Open(bool registerNotification = true);
    // IOServiceClose; then, when wait is true and notifications were registered, waits for the
    // dext's stopped notice before tearing the port down (the device can be opened again then).
    kern_return_t Close(bool wait = true);
    // The first half of Close: stop reading the dext's memory (the kernel may unmap it any time
    // after), then IOServiceClose; the port stays for the stopped notice.
    kern_return_t CloseConnection();
    // Waits for the stopped notice.
    bool WaitStopped(int timeoutMs = 5000);

    // Maps (once) and returns the slot's address in this process.
    uint8_t *Slot(uint8_t pipe, uint8_t slot);
    const DextioCompletionRing *Ring() const { return ring; }
    DextioCompletionConsumer *Consumer() const { return consumer; }

    // Queues a mapped-path transfer in the submission ring and kicks the dext if it is asleep: the
    // result is the queueing's (kIOReturnNoResources when the ring is full) or the kick's. A refused
    // entry completes in the completion ring with its IOReturn.
    kern_return_t SubmitSlot(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag);
    kern_return_t Submit(const DextioSubmission &entry);
    // The two halves of Submit, for a client that queues several entries and then flushes once.
    kern_return_t Queue(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag);
    kern_return_t Flush();
    // Submits, and waits for the completion of a transfer the dext refuses: its status.
    IOReturn Refused(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag);
    DextioSubmissionRing *Submissions() const { return submissions; }
    uint64_t Kicks() const { return kicks.load(); }
    kern_return_t SubmitDescriptor(uint8_t pipe, void *buffer, size_t length, uint32_t timeoutMs, uint64_t tag);
    kern_return_t Call(uint32_t selector, const uint64_t *input, uint32_t inputCount, uint64_t *output = nullptr,
                       uint32_t *outputCount = nullptr);
    // A call with structures, synchronous or with this client's notification callback.
    kern_return_t CallSync(uint32_t selector, const uint64_t *input, uint32_t inputCount, const void *inputStruct,
                           size_t inputStructSize, void *outputStruct, size_t *outputStructSize);
    kern_return_t CallAsync(uint32_t selector, const uint64_t *input, uint32_t inputCount, const void *inputStruct,
                            size_t inputStructSize, void *outputStruct, size_t *outputStructSize);

    // Control requests, as the addon makes them: asynchronous, and waited for. *bytes is the
    // completion's count; the result is the call's error or the completion's status.
    kern_return_t ControlIn(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index, void *data,
                            uint16_t length, uint64_t *bytes, uint32_t timeoutMs = 1000);
    kern_return_t ControlOut(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index, const void *data,
                             uint16_t length, uint64_t *bytes, uint32_t timeoutMs = 1000);
    // A control selector's call as given (its completion goes where FinishControl sees it).
    kern_return_t CallControl(uint32_t selector, const uint64_t *input, const void *inputStruct,
                              size_t inputStructSize, void *outputStruct, size_t *outputStructSize);
    // Starts a control IN request of at most kDextioSlotCapacity bytes; FinishControl waits for it.
    kern_return_t StartControlIn(uint8_t requestType, uint8_t request, uint16_t length, uint32_t timeoutMs);
    bool FinishControl(IOReturn *status, uint64_t *bytes, int timeoutMs = 5000);
    // The mapped control buffer (read-only), where IN data stages of up to 4096 bytes land.
    const uint8_t *ControlBuffer();

    // Waits for the completion with this tag (drained by the doorbell handler).
    bool Wait(uint64_t tag, DextioCompletion *completion, int timeoutMs = 5000);
    // Waits for at least one completion and takes all that have arrived.
    std::vector<DextioCompletion> TakeAll(int timeoutMs = 5000);
    size_t Completed();
    uint64_t Doorbells();
    // Notifications received with more or fewer arguments than the ABI's, or of an unknown kind.
    uint64_t OddNotifications();

    io_connect_t connect = IO_OBJECT_NULL;
    IONotificationPortRef port = nullptr;
    dispatch_queue_t queue = nullptr;

private:
    static void Notification(void *refcon, IOReturn result, void **args, uint32_t numArgs);
    static void ControlDone(void *refcon, IOReturn result, void **args, uint32_t numArgs);
    static void Collect(void *context, const DextioCompletion *completion);
    kern_return_t StartControl(bool in, uint8_t requestType, uint8_t request, uint16_t value, uint16_t index,
                               const void *outData, void *inData, uint16_t length, uint32_t timeoutMs);

    const DextioCompletionRing *ring = nullptr;
    DextioCompletionConsumer *consumer = nullptr;
    DextioSubmissionRing *submissions = nullptr;
    std::atomic<uint64_t> kicks{0};
    // The submission ring has one producer: threads sharing this client take turns.
    std::mutex pushMutex;
    const uint8_t *controlBuffer = nullptr;
    bool registered = false;
    std::map<uint32_t, uint8_t *> slots;
    std::mutex mutex;
    std::condition_variable changed;
    std::map<uint64_t, DextioCompletion> completions;
    uint64_t doorbells = 0;
    uint64_t oddNotifications = 0;
    bool stopped = false;
    bool controlDone = false;
    IOReturn controlStatus = kIOReturnSuccess;
    uint64_t controlBytes = 0;
};

// The protection of the mapping that holds address, as /proc/self/maps shows it ("rw-s", "r--s"),
// or "" if none does.
std::string ProtectionOf(const void *address);

// Live-object counts without the queue of the test's own dispatch queues.
DextioHostLiveCounts LiveCounts();
// The counts once no connection is left, waiting for closed ones to finish terminating.
DextioHostLiveCounts SettledCounts();
bool LiveCountsEqual(const DextioHostLiveCounts &a, const DextioHostLiveCounts &b);
