/*
 * Connection: one IOKit user-client connection to the dext (DextioDriver), as a JS object.
 * See ../README.md for the JS API and the threading rules.
 */
#ifndef DEXTIO_NATIVE_CONNECTION_H
#define DEXTIO_NATIVE_CONNECTION_H

#include <napi.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#ifdef __APPLE__
#include <mach/mach.h> /* mach_task_self */
#endif
#include <IOKit/IOKitLib.h>
#include <dispatch/dispatch.h>
#include <dextio/abi.h>

namespace dextio {

struct Session;

/* IPC messages between this process and the dext, over all connections. */
struct IpcCounters {
    std::atomic<uint64_t> calls{0};    /* IOConnectCall* to the dext */
    std::atomic<uint64_t> messages{0}; /* notifications and async completions from it */
};
extern IpcCounters gIpc;

/* Whether V8 takes memory from outside its heap as an ArrayBuffer (not in Electron 21 and later,
 * nor in a build with NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED). */
bool ExternalBuffersAllowed(Napi::Env env);

/* A control request, from control() to its completion (or to the close that drops it unsent). */
struct ControlRequest {
    Napi::Promise::Deferred deferred;
    Session *session;
    bool in;
    uint64_t scalars[kDextioControlScalarCount];
    /* OUT: the data stage. IN: where it lands (the call's structure output above 4096 bytes, so it
     * must not move until the completion). */
    std::vector<uint8_t> data;
    IOReturn status = kIOReturnSuccess;
    uint64_t bytes = 0;
};

/* What the dispatch queue hands to the JS thread: a doorbell (the JS thread drains the ring
 * itself), a control request's completion, or the stopped notice. */
struct Message {
    enum Kind { kDoorbell, kControl, kStopped } kind;
    ControlRequest *control = nullptr;
};

class Connection;
void DeliverMessage(Napi::Env env, Napi::Function callback, Connection *connection, Message *message);
using MessageFunction = Napi::TypedThreadSafeFunction<Connection, Message, DeliverMessage>;

/* The part of a connection that the notification callbacks (on the dispatch queue) and the slot
 * ArrayBuffers' finalizers share with the JS object. */
struct Session {
    /* The connection's one thread-safe function: created at open, released once the dext has said
     * it stopped (or at a failed open). */
    MessageFunction function;
    io_connect_t connect = IO_OBJECT_NULL;
    IONotificationPortRef port = nullptr;
    dispatch_queue_t queue = nullptr;
    /* The dext's memory: read only while `mapped`, which close() clears before IOServiceClose
     * (after it the kernel unmaps them when it likes). */
    const DextioCompletionRing *ring = nullptr;
    DextioCompletionConsumer *consumer = nullptr;
    const uint8_t *controlBuffer = nullptr;
    DextioSubmissionRing *submissions = nullptr;
    std::atomic<bool> mapped{false};
    /* A doorbell message is on its way to the JS thread: later doorbells add nothing. */
    std::atomic<bool> drainPending{false};
    std::atomic<uint64_t> kicks{0};
    /* The dext's stopped notice arrived; guarded by the process-wide closing lock (connection.cc). */
    bool stopped = false;
    /* close() counted this session among those whose stop a reopen may wait for. */
    bool countedClosing = false;
    std::atomic<uint64_t> doorbells{0};
    uint64_t completions = 0; /* JS thread */
    /* completionTimestamp is in mach absolute time ticks: ns = ticks * numer / denom. */
    uint32_t timebaseNumer = 1;
    uint32_t timebaseDenom = 1;
};

/* Lease views by id, weak: a lease dropped without revokeLease is collected, and its finalizer
 * removes the entry. Shared with those finalizers, which may run after the connection is gone. */
using LeaseTable = std::unordered_map<uint64_t, Napi::Reference<Napi::ArrayBuffer>>;

class Connection : public Napi::ObjectWrap<Connection> {
public:
    static Napi::Function Init(Napi::Env env);
    explicit Connection(const Napi::CallbackInfo &info);
    ~Connection() override;

    /* JS thread: a message from the dispatch queue. */
    void Deliver(Napi::Env env, Napi::Function callback, Message *message);
    /* On the dispatch queue: the registered notification (doorbell or stopped notice). */
    static void Notification(void *refcon, IOReturn result, void **args, uint32_t count);
    /* On the dispatch queue: a control request's completion. */
    static void ControlDone(void *refcon, IOReturn result, void **args, uint32_t count);
    /* Kicks the dext if queued submissions wait for it. */
    static void Flush(Session *session);
    static void Kick(Session *session);
    /* Asks the JS thread to drain the ring (at most one such message on its way). */
    static void ScheduleDrain(Session *session);

private:
    Napi::Value Open(const Napi::CallbackInfo &info);
    Napi::Value Close(const Napi::CallbackInfo &info);
    Napi::Value IsOpen(const Napi::CallbackInfo &info);
    Napi::Value DeviceInfo(const Napi::CallbackInfo &info);
    Napi::Value DeviceDescriptor(const Napi::CallbackInfo &info);
    Napi::Value ConfigurationDescriptor(const Napi::CallbackInfo &info);
    Napi::Value Pipes(const Napi::CallbackInfo &info);
    Napi::Value Slots(const Napi::CallbackInfo &info);
    Napi::Value LeaseSlot(const Napi::CallbackInfo &info);
    Napi::Value RevokeLease(const Napi::CallbackInfo &info);
    Napi::Value SubmitSlot(const Napi::CallbackInfo &info);
    Napi::Value SubmitDescriptor(const Napi::CallbackInfo &info);
    Napi::Value Control(const Napi::CallbackInfo &info);
    Napi::Value Abort(const Napi::CallbackInfo &info);
    Napi::Value ClearHalt(const Napi::CallbackInfo &info);
    Napi::Value SelectAlternate(const Napi::CallbackInfo &info);
    Napi::Value Counters(const Napi::CallbackInfo &info);

    void RequireOpen(Napi::Env env, const char *what) const;
    uint8_t PipeArgument(const Napi::CallbackInfo &info, size_t index) const;
    uint64_t TagArgument(const Napi::CallbackInfo &info, size_t index) const;
    uint16_t SlotCount(uint8_t pipe) const;
    uint8_t *MapSlot(Napi::Env env, uint8_t pipe, uint8_t slot);
    Napi::Uint8Array Descriptor(Napi::Env env, uint64_t kind, uint64_t index);
    bool PipeIsIn(uint8_t pipe) const { return (pipe & 0x80) != 0; }
    /* JS thread: hands the app every published completion, then kicks if submissions wait. */
    void DrainRing(Napi::Env env, Napi::Function callback);
    /* DrainRing now, or in the event loop's next turn if drains have had the thread long enough. */
    void RequestDrain(Napi::Env env);
    void DeferDrain(Napi::Env env);
    void ScheduleTurn(Napi::Env env);
    void CopyIn(const DextioCompletion &completion);
    void DeliverCompletions(Napi::Env env, Napi::Function callback, const DextioCompletion *completions, size_t count,
                            bool fromRing);
    void Busy(Napi::Env env);
    /* Flushes the submission ring once the current JavaScript job is done (a microtask). */
    void ScheduleFlush(Napi::Env env);
    void Idle(Napi::Env env);
    void StartControl(Napi::Env env);
    void FinishControl(Napi::Env env, ControlRequest *request);
    void DetachSlotViews();
    /* After the stopped notice: release what the dext held, and resolve close() with true. */
    void Teardown(Napi::Env env);
    void CloseTimedOut(Napi::Env env);

    /* Tells this connection's leases from any other ArrayBuffer (see LeaseTag). */
    const uint64_t id_;
    std::shared_ptr<Session> session_;
    Napi::FunctionReference onCompletions_;
    bool open_ = false;
    /* close() was called and the dext has not said it stopped yet. */
    bool closing_ = false;
    std::unique_ptr<Napi::Promise::Deferred> closed_;
    /* Its promise, for a second close() (a Deferred's own handle is valid in one call only). */
    Napi::Reference<Napi::Promise> closedPromise_;
    /* The JS timer that bounds close()'s wait for the stopped notice. */
    Napi::Reference<Napi::Value> closeTimer_;
    bool functionRefed_ = false;
    bool flushScheduled_ = false;
    /* DrainRing is handing completions to the app (its end flushes). */
    bool draining_ = false;
    /* Polling the ring after a kick (DrainRing): kicks to let pass before polling again, and how
     * many the last fruitless polls asked for. */
    uint32_t pollSkip_ = 0;
    uint32_t pollBackoff_ = 0;
    /* A setImmediate marks the event loop's next turn: drains since the previous one started at
     * chainStarted_; a drain that must wait for the turn is deferred to it. */
    bool turnScheduled_ = false;
    bool drainDeferred_ = false;
    std::chrono::steady_clock::time_point chainStarted_;
    Napi::FunctionReference turn_;
    Napi::FunctionReference setImmediate_;
    /* The dext stopped under the open connection (the device went away). */
    bool gone_ = false;
    /* This thread has handled the dext's stopped notice (the connection's last message). */
    bool stoppedSeen_ = false;
    Napi::FunctionReference flush_;
    Napi::FunctionReference queueMicrotask_;
    /* Transfers and control requests in flight: the event loop stays alive while there are any. */
    uint64_t busy_ = 0;
    std::vector<DextioPipeInfo> pipes_;
    /* Slot views per pipe, made once; detached at close (the mappings go away with the connection). */
    std::map<uint8_t, Napi::Reference<Napi::Array>> slotArrays_;
    std::vector<Napi::Reference<Napi::ArrayBuffer>> slotBuffers_;
    /* Where each slot (by memory type) is mapped: once per connection, for slots() and leases. */
    std::unordered_map<uint32_t, uint8_t *> slotAddresses_;
    std::shared_ptr<LeaseTable> leases_ = std::make_shared<LeaseTable>();
    uint64_t nextLease_ = 0;
    /* Tags of the transfers in flight, both paths: a completion is routed by its tag. */
    std::unordered_set<uint64_t> tags_;
    /* Buffers of descriptor-path transfers, pinned by tag until their completion or, after close,
     * until the dext's stopped notice: the dext may write into them until then. */
    std::unordered_map<uint64_t, Napi::Reference<Napi::Value>> pinned_;
    /* Control requests: one at a time through the dext, the others wait here in order. */
    std::deque<ControlRequest *> controlQueue_;
    ControlRequest *controlInFlight_ = nullptr;
    /* Where V8 refuses memory from outside its cage (Electron), slots are JavaScript's own memory
     * and their bytes are copied: in at submitSlot (OUT), out at the completion (IN). */
    bool copySlots_ = false;
    std::unordered_map<uint32_t, uint8_t *> shadows_;  /* by memory type: the JS buffer's bytes */
    std::unordered_map<uint64_t, uint32_t> copyIn_;    /* IN transfers in flight: tag -> memory type */
    /* The batch DrainRing copies out of the ring, reused. */
    std::vector<DextioCompletion> batch_;
};

} // namespace dextio

#endif
