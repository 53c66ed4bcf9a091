// The client side of the dext, as the Node addon drives it: open the user client, map the slots
// and the completion ring, submit with IOConnectCallAsyncMethod, take the doorbell on the
// notification port's dispatch queue and drain the ring.
#pragma once

#include <IOKit/IOKitLib.h>
#include <dextio/abi.h>
#include <dextio/host.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

io_service_t FindDextService();

class TestClient {
public:
    TestClient() = default;
    ~TestClient();
    TestClient(const TestClient &) = delete;
    TestClient &operator=(const TestClient &) = delete;

    kern_return_t Open();
    kern_return_t Close();

    // Maps (once) and returns the slot's address in this process.
    uint8_t *Slot(uint8_t pipe, uint8_t slot);
    DextioCompletionRing *Ring() const { return ring; }

    kern_return_t SubmitSlot(uint8_t pipe, uint8_t slot, uint32_t length, uint32_t timeoutMs, uint64_t tag);
    kern_return_t SubmitDescriptor(uint8_t pipe, void *buffer, size_t length, uint32_t timeoutMs, uint64_t tag);
    kern_return_t Call(uint32_t selector, const uint64_t *input, uint32_t inputCount, uint64_t *output = nullptr,
                       uint32_t *outputCount = nullptr);
    kern_return_t CallAsync(uint32_t selector, const uint64_t *input, uint32_t inputCount, const void *inputStruct,
                            size_t inputStructSize, void *outputStruct, size_t *outputStructSize);
    kern_return_t ControlIn(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index, void *data,
                            uint16_t length, uint64_t *bytes);
    kern_return_t ControlOut(uint8_t requestType, uint8_t request, uint16_t value, uint16_t index, const void *data,
                             uint16_t length, uint64_t *bytes);

    // Waits for the completion with this tag (drained by the doorbell handler).
    bool Wait(uint64_t tag, DextioCompletion *completion, int timeoutMs = 5000);
    // Waits for at least one completion and takes all that have arrived.
    std::vector<DextioCompletion> TakeAll(int timeoutMs = 5000);
    size_t Completed();
    uint64_t Doorbells();

    io_connect_t connect = IO_OBJECT_NULL;
    IONotificationPortRef port = nullptr;
    dispatch_queue_t queue = nullptr;

private:
    static void Doorbell(void *refcon, IOReturn result, void **args, uint32_t numArgs);
    static void Collect(void *context, const DextioCompletion *completion);

    DextioCompletionRing *ring = nullptr;
    std::map<uint32_t, uint8_t *> slots;
    std::mutex mutex;
    std::condition_variable changed;
    std::map<uint64_t, DextioCompletion> completions;
    uint64_t doorbells = 0;
};

// Live-object counts without the queue of the test's own dispatch queues.
DextioHostLiveCounts LiveCounts();
bool LiveCountsEqual(const DextioHostLiveCounts &a, const DextioHostLiveCounts &b);
