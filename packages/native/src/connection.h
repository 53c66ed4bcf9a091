/*
 * Connection: one IOKit user-client connection to the dext (DextioDriver), as a JS object.
 * See ../README.md for the JS API and the threading rules.
 */
#ifndef DEXTIO_NATIVE_CONNECTION_H
#define DEXTIO_NATIVE_CONNECTION_H

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

#ifdef __APPLE__
#include <mach/mach.h> /* mach_task_self */
#endif
#include <IOKit/IOKitLib.h>
#include <dispatch/dispatch.h>
#include <dextio/abi.h>

namespace dextio {

/* One doorbell's worth of drained completions, handed to the JS thread. */
using Batch = std::vector<DextioCompletion>;

class Connection;
void DeliverBatch(Napi::Env env, Napi::Function callback, Connection *connection, Batch *batch);
using CompletionFunction = Napi::TypedThreadSafeFunction<Connection, Batch, DeliverBatch>;

/* The part of a connection that the doorbell (on the dispatch queue) and the slot ArrayBuffers'
 * finalizers share with the JS object. */
struct Session {
    /* The connection's one thread-safe function: created at open, released at close. */
    CompletionFunction function;
    io_connect_t connect = IO_OBJECT_NULL;
    IONotificationPortRef port = nullptr;
    dispatch_queue_t queue = nullptr;
    DextioCompletionRing *ring = nullptr;
    std::atomic<bool> draining{false};
    std::atomic<uint64_t> doorbells{0};
    std::atomic<uint64_t> completions{0};
};

/* Lease views by id, weak: a lease dropped without revokeLease is collected, and its finalizer
 * removes the entry. Shared with those finalizers, which may run after the connection is gone. */
using LeaseTable = std::unordered_map<uint64_t, Napi::Reference<Napi::ArrayBuffer>>;

class Connection : public Napi::ObjectWrap<Connection> {
public:
    static Napi::Function Init(Napi::Env env);
    explicit Connection(const Napi::CallbackInfo &info);
    ~Connection() override;

    /* JS thread: a batch arrived. */
    void Deliver(Napi::Env env, Napi::Function callback, Batch *batch);
    /* Doorbell, on the dispatch queue. */
    static void Doorbell(void *refcon, IOReturn result, void **args, uint32_t count);
    /* On the dispatch queue: everything published so far, as one batch. */
    static void Drain(Session *session);

private:
    Napi::Value Open(const Napi::CallbackInfo &info);
    Napi::Value Close(const Napi::CallbackInfo &info);
    Napi::Value IsOpen(const Napi::CallbackInfo &info);
    Napi::Value DeviceInfo(const Napi::CallbackInfo &info);
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
    uint16_t SlotCount(uint8_t pipe) const;
    uint8_t *MapSlot(Napi::Env env, uint8_t pipe, uint8_t slot);
    bool PipeIsIn(uint8_t pipe) const { return (pipe & 0x80) != 0; }
    void Submitted(Napi::Env env);
    void Shutdown(Napi::Env env);
    void DetachSlotViews();

    /* Tells this connection's leases from any other ArrayBuffer (see LeaseTag). */
    const uint64_t id_;
    std::shared_ptr<Session> session_;
    Napi::FunctionReference onCompletions_;
    bool open_ = false;
    bool functionRefed_ = false;
    uint64_t inFlight_ = 0;
    std::vector<DextioPipeInfo> pipes_;
    /* Slot views per pipe, made once; detached at close (the mappings go away with the connection). */
    std::map<uint8_t, Napi::Reference<Napi::Array>> slotArrays_;
    std::vector<Napi::Reference<Napi::ArrayBuffer>> slotBuffers_;
    /* Where each slot (by memory type) is mapped: once per connection, for slots() and leases. */
    std::unordered_map<uint32_t, uint8_t *> slotAddresses_;
    std::shared_ptr<LeaseTable> leases_ = std::make_shared<LeaseTable>();
    uint64_t nextLease_ = 0;
    /* Buffers of descriptor-path transfers, pinned by tag until their completion. */
    std::unordered_map<uint64_t, Napi::Reference<Napi::Value>> pinned_;
};

} // namespace dextio

#endif
