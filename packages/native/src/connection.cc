/*
 * Connection: the dext's user client, as the README of @dextio/dext describes a client's sequence:
 * match DextioDriver, open, a notification port on our own dispatch queue, map the completion ring
 * (read-only), the consumer page and the control buffer, register for notifications, submit
 * transfers (their completions come through the ring) and control requests (each completes on its
 * own), and on every doorbell let the JS thread drain the ring. Closing waits for
 * the dext's stopped notice before it lets go of memory the dext may still use.
 */
#include "connection.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include <mach/mach_time.h>

#include "errors.h"

namespace dextio {

IpcCounters gIpc;

bool ExternalBuffersAllowed(Napi::Env env)
{
#ifdef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
    (void)env;
    return false;
#else
    /* Electron 21 and later keep V8's memory in a cage and refuse memory from outside it
     * (napi_no_external_buffers_allowed); ask once. */
    static int allowed = -1;
    if (allowed < 0) {
        static uint8_t probe;
        napi_value value;
        allowed = napi_create_external_arraybuffer(env, &probe, 1, nullptr, nullptr, &value) == napi_ok;
    }
    return allowed != 0;
#endif
}

namespace {

constexpr double kMaxTag = 9007199254740991.0; /* Number.MAX_SAFE_INTEGER */

void Noop(void *) {}

/* An integer argument in [min, max], else TypeError / RangeError naming it. */
uint64_t IntegerArgument(const Napi::CallbackInfo &info, size_t index, const char *name, double min, double max)
{
    Napi::Env env = info.Env();
    if (info.Length() <= index || !info[index].IsNumber()) {
        throw Napi::TypeError::New(env, std::string(name) + " must be a number");
    }
    double value = info[index].As<Napi::Number>().DoubleValue();
    if (!std::isfinite(value) || std::floor(value) != value) {
        throw Napi::TypeError::New(env, std::string(name) + " must be an integer");
    }
    if (value < min || value > max) {
        throw Napi::RangeError::New(env, std::string(name) + " must be " + std::to_string((uint64_t)min) + " to " +
                                             std::to_string((uint64_t)max));
    }
    return (uint64_t)value;
}

/* How long open() waits for this process's own closing connections to stop before it gives up on
 * kIOReturnExclusiveAccess, and close() for the stopped notice by default. */
constexpr auto kReopenWait = std::chrono::milliseconds(2000);
constexpr double kCloseTimeoutMs = 5000;

/* Polling the completion ring (DrainRing): how long a poll waits for progress, how long one drain
 * may keep the JS thread before the event loop gets it back, and at most how many kicks a poll
 * that found nothing makes the next polls wait for (doubling from 1). */
constexpr auto kPollQuiet = std::chrono::microseconds(30);
constexpr auto kPollTotal = std::chrono::microseconds(300);
constexpr uint32_t kPollBackoffMax = 256;

/* The sessions of this process that were closed and whose stop the dext has not confirmed: the
 * device stays held until it does (IOServiceClose does not wait on macOS). */
std::mutex gClosingMutex;
std::condition_variable gClosingChanged;
int gClosing = 0;

/* What a slot ArrayBuffer's finalizer drops: the session that owns the mapping. */
struct SlotHint {
    std::shared_ptr<Session> session;
};

/* A lease's finalizer also removes the lease from its connection's table. */
struct LeaseHint {
    std::shared_ptr<Session> session;
    std::shared_ptr<LeaseTable> leases;
    uint64_t id;
};

/* A lease's buffer is gone: its entry leaves the connection's table. */
void FinalizeLease(napi_env, void *data, void *)
{
    auto *hint = static_cast<LeaseHint *>(data);
    hint->leases->erase(hint->id);
    delete hint;
}

/* Wrapped into a lease's ArrayBuffer (napi_wrap), where JS cannot forge it: revokeLease reads it
 * to accept only leases of its own connection. */
struct LeaseTag {
    uint64_t connection;
    uint64_t lease;
};

std::atomic<uint64_t> gNextConnectionId{1};

/* Every call into the dext and every message from it is one IPC message (a Mach message on macOS):
 * counted process-wide for ipcCounters(). */
kern_return_t CountCall(kern_return_t kr)
{
    gIpc.calls.fetch_add(1, std::memory_order_relaxed);
    return kr;
}

/* The pipes the dext drives (GetPipes); none when the call fails. */
kern_return_t ListPipes(io_connect_t connect, std::vector<DextioPipeInfo> *pipes)
{
    pipes->assign(kDextioMaxPipes, DextioPipeInfo{});
    uint64_t count = 0;
    uint32_t countSize = 1;
    size_t bytes = pipes->size() * sizeof(DextioPipeInfo);
    kern_return_t kr = CountCall(IOConnectCallMethod(connect, kDextioSelectorGetPipes, nullptr, 0, nullptr, 0, &count,
                                                     &countSize, pipes->data(), &bytes));
    pipes->resize(kr == kIOReturnSuccess ? std::min<size_t>(count, bytes / sizeof(DextioPipeInfo)) : 0);
    return kr;
}

} // namespace

Napi::Function Connection::Init(Napi::Env env)
{
    return DefineClass(env, "Connection",
                       {
                           InstanceMethod<&Connection::Open>("open"),
                           InstanceMethod<&Connection::Close>("close"),
                           InstanceAccessor<&Connection::IsOpen>("isOpen"),
                           InstanceMethod<&Connection::DeviceInfo>("deviceInfo"),
                           InstanceMethod<&Connection::DeviceDescriptor>("deviceDescriptor"),
                           InstanceMethod<&Connection::ConfigurationDescriptor>("configurationDescriptor"),
                           InstanceMethod<&Connection::Pipes>("pipes"),
                           InstanceMethod<&Connection::Slots>("slots"),
                           InstanceMethod<&Connection::LeaseSlot>("leaseSlot"),
                           InstanceMethod<&Connection::RevokeLease>("revokeLease"),
                           InstanceMethod<&Connection::SubmitSlot>("submitSlot"),
                           InstanceMethod<&Connection::SubmitDescriptor>("submitDescriptor"),
                           InstanceMethod<&Connection::Control>("control"),
                           InstanceMethod<&Connection::Abort>("abort"),
                           InstanceMethod<&Connection::ClearHalt>("clearHalt"),
                           InstanceMethod<&Connection::SelectAlternate>("selectAlternate"),
                           InstanceMethod<&Connection::Counters>("counters"),
                       });
}

Connection::Connection(const Napi::CallbackInfo &info)
    : Napi::ObjectWrap<Connection>(info), id_(gNextConnectionId++)
{
    if (info.Length() < 1 || !info[0].IsFunction()) {
        throw Napi::TypeError::New(info.Env(), "onCompletions must be a function");
    }
    onCompletions_ = Napi::Persistent(info[0].As<Napi::Function>());
}

/* Never open or closing here: the thread-safe function references the object until teardown. */
Connection::~Connection() = default;

void Connection::RequireOpen(Napi::Env env, const char *what) const
{
    if (!open_) throw Napi::Error::New(env, std::string(what) + ": the connection is closed");
}

uint8_t Connection::PipeArgument(const Napi::CallbackInfo &info, size_t index) const
{
    uint8_t address = (uint8_t)IntegerArgument(info, index, "pipe", 0, 0xff);
    for (const DextioPipeInfo &pipe : pipes_) {
        if (pipe.address == address) return address;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "%02x", address);
    throw Napi::RangeError::New(info.Env(), std::string("pipe 0x") + hex + " is not a pipe of the current alternate setting");
}

uint64_t Connection::TagArgument(const Napi::CallbackInfo &info, size_t index) const
{
    uint64_t tag = IntegerArgument(info, index, "tag", 0, kMaxTag);
    if (tags_.count(tag) != 0) throw Napi::RangeError::New(info.Env(), "tag is already in use by a transfer in flight");
    return tag;
}

uint16_t Connection::SlotCount(uint8_t pipe) const
{
    for (const DextioPipeInfo &p : pipes_) {
        if (p.address == pipe) return p.slotCount;
    }
    return 0;
}

uint8_t *Connection::MapSlot(Napi::Env env, uint8_t pipe, uint8_t slot)
{
    uint32_t type = DextioMemoryTypeSlot(pipe, slot);
    auto mapped = slotAddresses_.find(type);
    if (mapped != slotAddresses_.end()) return mapped->second;
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    kern_return_t kr = IOConnectMapMemory64(session_->connect, type, mach_task_self(), &address, &size, kIOMapAnywhere);
    if (kr == kIOReturnSuccess && size < kDextioSlotCapacity) kr = kIOReturnNoMemory;
    if (kr != kIOReturnSuccess) ThrowIOReturn(env, "mapping a slot", kr);
    return slotAddresses_[type] = reinterpret_cast<uint8_t *>(address);
}

namespace {

/* Maps one of the connection's fixed memory types; 0 on failure. */
kern_return_t MapFixed(io_connect_t connect, uint32_t type, mach_vm_size_t minimum, mach_vm_address_t *address)
{
    mach_vm_size_t size = 0;
    kern_return_t kr = IOConnectMapMemory64(connect, type, mach_task_self(), address, &size, kIOMapAnywhere);
    return kr == kIOReturnSuccess && size < minimum ? kIOReturnNoMemory : kr;
}

kern_return_t OpenService(io_service_t service, io_connect_t *connect)
{
    kern_return_t kr = IOServiceOpen(service, mach_task_self(), 0, connect);
    if (kr != kIOReturnExclusiveAccess) return kr;
    /* Held: if it is by a connection this process closed a moment ago, the device is free as soon
     * as the dext has stopped that one. */
    {
        std::unique_lock<std::mutex> lock(gClosingMutex);
        if (gClosing == 0) return kr;
        gClosingChanged.wait_for(lock, kReopenWait, [] { return gClosing == 0; });
    }
    return IOServiceOpen(service, mach_task_self(), 0, connect);
}

} // namespace

Napi::Value Connection::Open(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (open_) throw Napi::Error::New(env, "open: the connection is already open");
    if (closing_) throw Napi::Error::New(env, "open: the connection is still closing (await close() first)");
    io_service_t service = IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("DextioDriver"));
    if (service == IO_OBJECT_NULL) ThrowIOReturn(env, "open: no DextioDriver service", kIOReturnNoDevice);
    auto session = std::make_shared<Session>();
    kern_return_t kr = OpenService(service, &session->connect);
    IOObjectRelease(service);
    if (kr != kIOReturnSuccess) ThrowIOReturn(env, "open: IOServiceOpen", kr);

    mach_timebase_info_data_t timebase{};
    if (mach_timebase_info(&timebase) == KERN_SUCCESS && timebase.denom != 0) {
        session->timebaseNumer = timebase.numer;
        session->timebaseDenom = timebase.denom;
    }
    session->queue = dispatch_queue_create("io.dextio.native.notifications", DISPATCH_QUEUE_SERIAL);
    session->port = IONotificationPortCreate(kIOMainPortDefault);
    IONotificationPortSetDispatchQueue(session->port, session->queue);
    mach_vm_address_t ring = 0, consumer = 0, control = 0;
    kr = MapFixed(session->connect, DextioMemoryTypeCompletionRing(), sizeof(DextioCompletionRing), &ring);
    if (kr == kIOReturnSuccess) {
        kr = MapFixed(session->connect, DextioMemoryTypeCompletionConsumer(), sizeof(DextioCompletionConsumer), &consumer);
    }
    if (kr == kIOReturnSuccess) {
        kr = MapFixed(session->connect, DextioMemoryTypeControl(), kDextioSlotCapacity, &control);
    }
    mach_vm_address_t submissions = 0;
    if (kr == kIOReturnSuccess) {
        kr = MapFixed(session->connect, DextioMemoryTypeSubmissionRing(), sizeof(DextioSubmissionRing), &submissions);
    }
    std::vector<DextioPipeInfo> pipes;
    if (kr == kIOReturnSuccess) kr = ListPipes(session->connect, &pipes);
    if (kr == kIOReturnSuccess) {
        session->ring = reinterpret_cast<const DextioCompletionRing *>(ring);
        session->consumer = reinterpret_cast<DextioCompletionConsumer *>(consumer);
        session->controlBuffer = reinterpret_cast<const uint8_t *>(control);
        session->submissions = reinterpret_cast<DextioSubmissionRing *>(submissions);
        session->mapped = true;
        uint64_t reference[kOSAsyncRef64Count] = {};
        reference[kIOAsyncCalloutFuncIndex] = (uint64_t)(uintptr_t)&Connection::Notification;
        reference[kIOAsyncCalloutRefconIndex] = (uint64_t)(uintptr_t)session.get();
        kr = CountCall(IOConnectCallAsyncMethod(session->connect, kDextioSelectorRegisterNotification,
                                      IONotificationPortGetMachPort(session->port), reference, kIOAsyncCalloutCount,
                                      nullptr, 0, nullptr, 0, nullptr, nullptr, nullptr, nullptr));
    }
    if (kr != kIOReturnSuccess) {
        session->mapped = false;
        IOServiceClose(session->connect);
        IONotificationPortDestroy(session->port);
        dispatch_release(session->queue);
        ThrowIOReturn(env, "open: setting up the connection", kr);
    }
    /* The object stays alive until the function is finalized (at teardown, after the stop). */
    Ref();
    session->function = MessageFunction::New(
        env, onCompletions_.Value(), "dextio.completions", 0, 1, this,
        [](Napi::Env, void *, Connection *connection) { connection->Unref(); }, (void *)nullptr);
    session->function.Unref(env);
    session_ = std::move(session);
    pipes_ = std::move(pipes);
    copySlots_ = !ExternalBuffersAllowed(env);
    open_ = true;
    return env.Undefined();
}

void Connection::Notification(void *refcon, IOReturn, void **args, uint32_t count)
{
    gIpc.messages.fetch_add(1, std::memory_order_relaxed);
    auto *session = static_cast<Session *>(refcon);
    uint64_t kind = count == kDextioNotificationArgumentCount ? (uint64_t)(uintptr_t)args[0] : 0;
    if (kind == kDextioNotificationDoorbell) {
        session->doorbells++;
        /* The JS thread drains the ring itself: then the consumer index moves only as fast as the
         * app takes completions, and the dext rings again only once the app has caught up. */
        ScheduleDrain(session);
    } else if (kind == kDextioNotificationStopped) {
        /* The last message of the connection: every completion is in the ring before it. */
        {
            std::lock_guard<std::mutex> lock(gClosingMutex);
            session->stopped = true;
            if (session->countedClosing) {
                session->countedClosing = false;
                gClosing--;
                gClosingChanged.notify_all();
            }
        }
        auto *message = new Message{Message::kStopped, nullptr};
        if (session->function.NonBlockingCall(message) != napi_ok) delete message;
    }
}

void Connection::ControlDone(void *refcon, IOReturn result, void **args, uint32_t count)
{
    gIpc.messages.fetch_add(1, std::memory_order_relaxed);
    auto *request = static_cast<ControlRequest *>(refcon);
    Session *session = request->session;
    request->status = result;
    request->bytes = count == kDextioControlCompletionArgumentCount ? (uint64_t)(uintptr_t)args[0] : 0;
    request->bytes = std::min<uint64_t>(request->bytes, request->data.size());
    /* Up to 4096 bytes, an IN data stage is in the control buffer until the next request, which
     * this connection sends only after this point. */
    if (request->in && result == kIOReturnSuccess && request->data.size() <= kDextioSlotCapacity && request->bytes > 0) {
        if (session->mapped.load()) {
            std::memcpy(request->data.data(), session->controlBuffer, request->bytes);
        } else {
            request->status = kIOReturnAborted;
            request->bytes = 0;
        }
    }
    auto *message = new Message{Message::kControl, request};
    if (session->function.NonBlockingCall(message) != napi_ok) delete message;
}

void DeliverMessage(Napi::Env env, Napi::Function callback, Connection *connection, Message *message)
{
    std::unique_ptr<Message> owned(message);
    if (env == nullptr || connection == nullptr) return;
    connection->Deliver(env, callback, message);
}

void Connection::Deliver(Napi::Env env, Napi::Function callback, Message *message)
{
    switch (message->kind) {
    case Message::kControl:
        FinishControl(env, message->control);
        return;
    case Message::kDoorbell:
        /* Cleared first: a doorbell from now on brings another message. */
        session_->drainPending = false;
        RequestDrain(env);
        return;
    case Message::kStopped:
        stoppedSeen_ = true;
        break;
    }
    if (closing_) {
        Teardown(env);
        return;
    }
    /* Unplugged under an open connection: what the dext completed is in the ring; every transfer
     * it took has completed, and it holds none of our memory any more. Submissions it never took
     * (still in the submission ring) end here, so that each one still gets its completion. */
    DrainRing(env, callback);
    if (!open_) return; /* the app closed it from a completion handler */
    gone_ = true;
    pinned_.clear();
    if (tags_.empty()) return;
    std::vector<DextioCompletion> left;
    for (uint64_t tag : tags_) left.push_back(DextioCompletion{tag, kIOReturnNoDevice, 0, 0});
    DeliverCompletions(env, callback, left.data(), left.size(), false);
}

void Connection::ScheduleDrain(Session *session)
{
    if (session->drainPending.exchange(true)) return;
    auto *message = new Message{Message::kDoorbell, nullptr};
    if (session->function.NonBlockingCall(message) != napi_ok) {
        delete message;
        session->drainPending = false;
    }
}

void Connection::RequestDrain(Napi::Env env)
{
    /* Node dispatches a thread-safe function's queued calls back to back, without turning the
     * event loop; drains that come in such a run may together hold the thread for kPollTotal at
     * most, then wait for the loop's next turn (setImmediate). */
    auto now = std::chrono::steady_clock::now();
    if (!turnScheduled_) {
        chainStarted_ = now;
        ScheduleTurn(env);
    } else if (now - chainStarted_ >= kPollTotal) {
        drainDeferred_ = true;
        return;
    }
    DrainRing(env, onCompletions_.Value());
}

void Connection::DeferDrain(Napi::Env env)
{
    drainDeferred_ = true;
    if (!turnScheduled_) ScheduleTurn(env);
}

void Connection::ScheduleTurn(Napi::Env env)
{
    if (turn_.IsEmpty()) {
        turn_ = Napi::Persistent(Napi::Function::New(env, [this](const Napi::CallbackInfo &info) {
            turnScheduled_ = false;
            Unref(); /* taken in ScheduleTurn */
            if (drainDeferred_) {
                drainDeferred_ = false;
                RequestDrain(info.Env());
            }
        }));
        setImmediate_ = Napi::Persistent(env.Global().Get("setImmediate").As<Napi::Function>());
    }
    turnScheduled_ = true;
    Ref(); /* the immediate calls into this object */
    setImmediate_.Call({turn_.Value()});
}

void Connection::DrainRing(Napi::Env env, Napi::Function callback)
{
    Session *session = session_.get();
    if (!open_ || !session->mapped.load()) return;
    const DextioCompletionRing *ring = session->ring;
    DextioCompletionConsumer *consumer = session->consumer;
    uint32_t capacity = ring->header.capacity;
    if (capacity == 0 || capacity > kDextioCompletionRingCapacity) return;
    uint32_t next = __atomic_load_n(&consumer->consumerIndex, __ATOMIC_RELAXED);
    /* Polling (abi.h): after a kick the dext's completions often come within microseconds;
     * watching the ring then costs less than sleeping until a doorbell. A poll ends after
     * kPollQuiet without progress; the whole drain gives the event loop back after kPollTotal. */
    bool polling = false;
    bool pollFound = false;
    auto started = std::chrono::steady_clock::now();
    auto progress = started;
    uint32_t taken = 0;
    draining_ = true;
    for (;;) {
        if (std::chrono::steady_clock::now() - started >= kPollTotal) {
            /* Enough: the event loop's turn. What is left is drained in its next turn (the dext
             * rings no doorbell while the ring is not empty). */
            if (polling) __atomic_store_n(&consumer->polling, 0u, __ATOMIC_SEQ_CST);
            Flush(session);
            if (__atomic_load_n(&ring->header.producerIndex, __ATOMIC_SEQ_CST) != next) DeferDrain(env);
            break;
        }
        uint32_t producer = __atomic_load_n(&ring->header.producerIndex, __ATOMIC_SEQ_CST);
        uint32_t count = std::min(producer - next, capacity);
        if (count > 0) {
            batch_.resize(count);
            for (uint32_t i = 0; i < count; i++) batch_[i] = ring->entries[(next + i) % capacity];
            next += count;
            /* Published after the app has handled the batch, not before: completions that land
             * meanwhile find the ring not yet drained and ring no doorbell; this loop takes them. */
            DeliverCompletions(env, callback, batch_.data(), count, true);
            if (!open_ || !session->mapped.load()) { /* closed from the handler */
                draining_ = false;
                return;
            }
            __atomic_store_n(&consumer->consumerIndex, next, __ATOMIC_SEQ_CST);
            if (polling) {
                pollFound = true;
                progress = std::chrono::steady_clock::now();
            }
            continue;
        }
        bool pending = DextioSubmissionRingPending(session->submissions, ring);
        if (polling) {
            auto now = std::chrono::steady_clock::now();
            uint32_t nowTaken = __atomic_load_n(&ring->header.submissionConsumerIndex, __ATOMIC_SEQ_CST);
            if (nowTaken != taken) {
                taken = nowTaken;
                progress = now;
            }
            if (now - progress < kPollQuiet && !tags_.empty()) {
                std::this_thread::yield(); /* two cores may be shared with the dext and the bus */
                continue;
            }
            if (pending) {
                /* The dext went quiet with submissions waiting: it needs a kick after all. */
                Kick(session);
                progress = now;
                continue;
            }
            /* Stop: clear the flag, then look at the ring once more (abi.h). */
            __atomic_store_n(&consumer->polling, 0u, __ATOMIC_SEQ_CST);
            polling = false;
            pollBackoff_ = pollFound ? 0 : std::min<uint32_t>(pollBackoff_ * 2 + 1, kPollBackoffMax);
            pollSkip_ = pollBackoff_;
            continue;
        }
        if (!pending) break;
        /* What the handler submitted, and anything the dext left for want of room in the ring. */
        Kick(session);
        if (tags_.empty()) break;
        if (pollSkip_ > 0) {
            pollSkip_--; /* recent polls found nothing: a slow bus, sleep instead */
            break;
        }
        __atomic_store_n(&consumer->polling, 1u, __ATOMIC_SEQ_CST);
        polling = true;
        pollFound = false;
        progress = std::chrono::steady_clock::now();
        taken = __atomic_load_n(&ring->header.submissionConsumerIndex, __ATOMIC_SEQ_CST);
    }
    draining_ = false;
}

void Connection::CopyIn(const DextioCompletion &completion)
{
    auto copy = copyIn_.find(completion.tag);
    if (copy == copyIn_.end()) return;
    uint32_t type = copy->second;
    copyIn_.erase(copy);
    auto mapped = slotAddresses_.find(type);
    auto shadow = shadows_.find(type);
    if (!session_->mapped.load() || mapped == slotAddresses_.end() || shadow == shadows_.end()) return;
    std::memcpy(shadow->second, mapped->second, std::min<uint32_t>(completion.bytes, kDextioSlotCapacity));
}

void Connection::DeliverCompletions(Napi::Env env, Napi::Function callback, const DextioCompletion *completions,
                                    size_t count, bool fromRing)
{
    Napi::Float64Array flat = Napi::Float64Array::New(env, count * 4);
    double *out = flat.Data();
    for (size_t i = 0; i < count; i++) {
        const DextioCompletion &c = completions[i];
        out[i * 4 + 0] = (double)c.tag;
        out[i * 4 + 1] = (double)c.status;
        out[i * 4 + 2] = (double)c.bytes;
        /* completionTimestamp is in mach absolute time ticks. */
        out[i * 4 + 3] =
            fromRing ? (double)((unsigned __int128)c.timestamp * session_->timebaseNumer / session_->timebaseDenom) : 0;
        pinned_.erase(c.tag);
        if (tags_.erase(c.tag) != 0) Idle(env);
        if (copySlots_) CopyIn(c);
    }
    if (fromRing) session_->completions += count;
    try {
        callback.Call({flat});
    } catch (const Napi::Error &error) {
        /* A throwing handler is the app's uncaught exception, as for any event callback. */
        napi_fatal_exception(env, error.Value());
    }
}

void Connection::Busy(Napi::Env env)
{
    busy_++;
    if (!functionRefed_) {
        session_->function.Ref(env); /* keep the event loop alive while work is in flight */
        functionRefed_ = true;
    }
}

void Connection::Idle(Napi::Env env)
{
    busy_ = busy_ > 0 ? busy_ - 1 : 0;
    /* While closing, the wait for the stopped notice keeps the loop alive instead. */
    if (busy_ == 0 && functionRefed_ && !closing_) {
        session_->function.Unref(env);
        functionRefed_ = false;
    }
}

Napi::Value Connection::IsOpen(const Napi::CallbackInfo &info) { return Napi::Boolean::New(info.Env(), open_); }

Napi::Value Connection::DeviceInfo(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "deviceInfo");
    uint64_t out[kDextioDeviceInfoScalarCount] = {};
    uint32_t count = kDextioDeviceInfoScalarCount;
    kern_return_t kr =
        CountCall(IOConnectCallScalarMethod(session_->connect, kDextioSelectorGetDeviceInfo, nullptr, 0, out, &count));
    if (kr != kIOReturnSuccess) ThrowIOReturn(env, "deviceInfo", kr);
    Napi::Object result = Napi::Object::New(env);
    result.Set("abiVersion", (double)out[kDextioDeviceInfoAbiVersion]);
    result.Set("vendorId", (double)out[kDextioDeviceInfoVendorID]);
    result.Set("productId", (double)out[kDextioDeviceInfoProductID]);
    result.Set("deviceRelease", (double)out[kDextioDeviceInfoDeviceRelease]);
    result.Set("interfaceNumber", (double)out[kDextioDeviceInfoInterfaceNumber]);
    result.Set("alternateSetting", (double)out[kDextioDeviceInfoAltSetting]);
    result.Set("pipeCount", (double)out[kDextioDeviceInfoPipeCount]);
    result.Set("speed", (double)out[kDextioDeviceInfoSpeed]);
    result.Set("configurationValue", (double)out[kDextioDeviceInfoConfigurationValue]);
    return result;
}

Napi::Uint8Array Connection::Descriptor(Napi::Env env, uint64_t kind, uint64_t index)
{
    /* By value first; a descriptor longer than 4096 bytes is asked for again into a buffer of its
     * length, which then travels as a memory descriptor the dext writes into. */
    std::vector<uint8_t> buffer(kDextioSlotCapacity);
    for (int attempt = 0; attempt < 2; attempt++) {
        uint64_t input[kDextioGetDescriptorScalarCount] = {kind, index};
        uint64_t length = 0;
        uint32_t outputCount = 1;
        size_t size = buffer.size();
        kern_return_t kr = CountCall(IOConnectCallMethod(session_->connect, kDextioSelectorGetDescriptor, input,
                                               kDextioGetDescriptorScalarCount, nullptr, 0, &length, &outputCount,
                                               buffer.data(), &size));
        if (kr != kIOReturnSuccess) ThrowIOReturn(env, "reading a descriptor", kr);
        if (length <= buffer.size()) {
            return Napi::Buffer<uint8_t>::Copy(env, buffer.data(), length).As<Napi::Uint8Array>();
        }
        buffer.assign(std::max<uint64_t>(length, kDextioSlotCapacity + 1), 0);
    }
    ThrowIOReturn(env, "reading a descriptor that keeps growing", kIOReturnError);
}

Napi::Value Connection::DeviceDescriptor(const Napi::CallbackInfo &info)
{
    RequireOpen(info.Env(), "deviceDescriptor");
    return Descriptor(info.Env(), kDextioDescriptorDevice, 0);
}

Napi::Value Connection::ConfigurationDescriptor(const Napi::CallbackInfo &info)
{
    RequireOpen(info.Env(), "configurationDescriptor");
    return Descriptor(info.Env(), kDextioDescriptorConfiguration, IntegerArgument(info, 0, "index", 0, 0xff));
}

Napi::Value Connection::Pipes(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "pipes");
    Napi::Array result = Napi::Array::New(env, pipes_.size());
    for (size_t i = 0; i < pipes_.size(); i++) {
        const DextioPipeInfo &pipe = pipes_[i];
        Napi::Object entry = Napi::Object::New(env);
        entry.Set("address", (double)pipe.address);
        entry.Set("type", (double)pipe.type);
        entry.Set("interval", (double)pipe.interval);
        entry.Set("maxPacketSize", (double)pipe.maxPacketSize);
        entry.Set("slotCount", (double)pipe.slotCount);
        result.Set((uint32_t)i, entry);
    }
    return result;
}

Napi::Value Connection::Slots(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "slots");
    uint8_t pipe = PipeArgument(info, 0);
    auto cached = slotArrays_.find(pipe);
    if (cached != slotArrays_.end()) return cached->second.Value();
    uint16_t slotCount = SlotCount(pipe);
    Napi::Array slots = Napi::Array::New(env, slotCount);
    for (uint16_t slot = 0; slot < slotCount; slot++) {
        uint8_t *address = MapSlot(env, pipe, (uint8_t)slot);
        Napi::ArrayBuffer buffer;
        if (copySlots_) {
            /* Memory of JavaScript's own, which submitSlot copies into the mapping (OUT) and a
             * completion copies out of it (IN). */
            buffer = Napi::ArrayBuffer::New(env, kDextioSlotCapacity);
            shadows_[DextioMemoryTypeSlot(pipe, (uint8_t)slot)] = static_cast<uint8_t *>(buffer.Data());
        } else {
#ifndef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
            /* No copy: the view is the mapping itself. The hint keeps the session (and so the
             * mapping, which lives as long as the connection) referenced until V8 lets go of the
             * buffer; close() detaches the buffer first, so no view outlives the mapping. */
            buffer = Napi::ArrayBuffer::New(
                env, address, kDextioSlotCapacity, [](Napi::Env, void *, SlotHint *hint) { delete hint; },
                new SlotHint{session_});
#else
            (void)address;
#endif
        }
        slotBuffers_.push_back(Napi::Persistent(buffer));
        slots.Set((uint32_t)slot, Napi::Uint8Array::New(env, kDextioSlotCapacity, buffer, 0));
    }
    slotArrays_.emplace(pipe, Napi::Persistent(slots));
    return slots;
}

Napi::Value Connection::LeaseSlot(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "leaseSlot");
    uint8_t pipe = PipeArgument(info, 0);
    uint16_t slotCount = SlotCount(pipe);
    if (slotCount == 0) throw Napi::RangeError::New(env, "pipe has no slots");
    uint8_t slot = (uint8_t)IntegerArgument(info, 1, "slot", 0, slotCount - 1);
    uint8_t *address = MapSlot(env, pipe, slot);
    /* A buffer of its own, so that revoking it detaches this lease and nothing else. */
    uint64_t id = nextLease_++;
    auto *hint = new LeaseHint{session_, leases_, id};
    Napi::ArrayBuffer buffer;
    if (copySlots_) {
        /* A copy of the slot, in memory of JavaScript's own. */
        buffer = Napi::ArrayBuffer::New(env, kDextioSlotCapacity);
        std::memcpy(buffer.Data(), address, kDextioSlotCapacity);
        napi_add_finalizer(env, buffer, hint, FinalizeLease, nullptr, nullptr);
    } else {
#ifndef NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED
        buffer = Napi::ArrayBuffer::New(
            env, address, kDextioSlotCapacity, [](Napi::Env env, void *, LeaseHint *hint) { FinalizeLease(env, hint, nullptr); },
            hint);
#endif
    }
    auto *tag = new LeaseTag{id_, id};
    napi_status status = napi_wrap(
        env, buffer, tag, [](napi_env, void *data, void *) { delete static_cast<LeaseTag *>(data); }, nullptr,
        nullptr);
    if (status != napi_ok) {
        delete tag;
        throw Napi::Error::New(env, "leaseSlot: napi_wrap failed");
    }
    leases_->emplace(id, Napi::Weak(buffer));
    return Napi::Uint8Array::New(env, kDextioSlotCapacity, buffer, 0);
}

Napi::Value Connection::RevokeLease(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw Napi::TypeError::New(env, "view must be a Uint8Array");
    }
    Napi::ArrayBuffer buffer = info[0].As<Napi::Uint8Array>().ArrayBuffer();
    void *data = nullptr;
    if (napi_unwrap(env, buffer, &data) != napi_ok || data == nullptr ||
        static_cast<LeaseTag *>(data)->connection != id_) {
        throw Napi::TypeError::New(env, "view must be a lease of this connection (from leaseSlot)");
    }
    /* Idempotent: a revoked lease, or one detached by close() or selectAlternate(), stays so. */
    if (!buffer.IsDetached()) buffer.Detach();
    leases_->erase(static_cast<LeaseTag *>(data)->lease);
    return env.Undefined();
}

Napi::Value Connection::SubmitSlot(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "submitSlot");
    DextioSubmission entry = {};
    if (gone_) {
        PipeArgument(info, 0);
        return Napi::Number::New(env, kIOReturnNoDevice);
    }
    entry.pipe = PipeArgument(info, 0);
    entry.slot = (uint8_t)IntegerArgument(info, 1, "slot", 0, kDextioSlotsPerPipe - 1);
    entry.length = (uint32_t)IntegerArgument(info, 2, "length", 0, kDextioSlotCapacity);
    entry.timeoutMs = (uint32_t)IntegerArgument(info, 3, "timeout", 0, 0xffffffffu);
    entry.tag = TagArgument(info, 4);
    uint32_t type = DextioMemoryTypeSlot(entry.pipe, entry.slot);
    if (copySlots_ && SlotCount(entry.pipe) > 0) {
        uint8_t *mapped = MapSlot(env, entry.pipe, entry.slot);
        auto shadow = shadows_.find(type);
        if (!PipeIsIn(entry.pipe) && shadow != shadows_.end()) std::memcpy(mapped, shadow->second, entry.length);
    }
    /* Queued in the submission ring; the flush at the end of this JavaScript job kicks the dext
     * once for everything queued meanwhile, and only if it has not taken them by itself. */
    if (!DextioSubmissionRingPush(session_->submissions, session_->ring, &entry)) {
        return Napi::Number::New(env, kIOReturnNoResources);
    }
    if (copySlots_ && PipeIsIn(entry.pipe)) copyIn_[entry.tag] = type;
    tags_.insert(entry.tag);
    Busy(env);
    ScheduleFlush(env);
    return Napi::Number::New(env, kIOReturnSuccess);
}

void Connection::ScheduleFlush(Napi::Env env)
{
    /* A drain flushes once at its end, for everything its handler submitted. */
    if (flushScheduled_ || draining_) return;
    if (flush_.IsEmpty()) {
        flush_ = Napi::Persistent(Napi::Function::New(env, [this](const Napi::CallbackInfo &) {
            flushScheduled_ = false;
            if (open_) Flush(session_.get());
        }));
        queueMicrotask_ = Napi::Persistent(env.Global().Get("queueMicrotask").As<Napi::Function>());
    }
    flushScheduled_ = true;
    queueMicrotask_.Call({flush_.Value()});
}

void Connection::Flush(Session *session)
{
    if (!session->mapped.load() || !DextioSubmissionRingPending(session->submissions, session->ring)) return;
    Kick(session);
}

void Connection::Kick(Session *session)
{
    session->kicks++;
    /* A failed kick (the dext stopped) leaves the entries: the stop or the unplug reports the
     * transfers in flight, and the caller reaps them. */
    CountCall(IOConnectCallScalarMethod(session->connect, kDextioSelectorKick, nullptr, 0, nullptr, nullptr));
}

Napi::Value Connection::SubmitDescriptor(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "submitDescriptor");
    uint8_t pipe = PipeArgument(info, 0);
    if (info.Length() < 2 || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
        throw Napi::TypeError::New(env, "buffer must be a Uint8Array");
    }
    Napi::Uint8Array buffer = info[1].As<Napi::Uint8Array>();
    uint64_t length = IntegerArgument(info, 2, "length", kDextioSlotCapacity + 1, kDextioMaxDescriptorLength);
    if (length > buffer.ByteLength()) throw Napi::RangeError::New(env, "length must be at most buffer.byteLength");
    uint64_t timeout = IntegerArgument(info, 3, "timeout", 0, 0xffffffffu);
    uint64_t tag = TagArgument(info, 4);
    uint64_t scalars[kDextioSubmitDescriptorScalarCount];
    scalars[kDextioSubmitDescriptorPipe] = pipe;
    scalars[kDextioSubmitDescriptorLength] = length;
    scalars[kDextioSubmitDescriptorTimeoutMs] = timeout;
    scalars[kDextioSubmitDescriptorTag] = tag;
    /* The dext sees this memory itself (a descriptor over it), so the buffer is pinned until the
     * completion: the reference keeps its ArrayBuffer, whose backing store never moves. */
    uint8_t *data = buffer.Data();
    size_t outSize = length;
    bool in = PipeIsIn(pipe);
    /* Order per pipe holds across both paths: what the ring holds reaches the dext first. */
    Flush(session_.get());
    kern_return_t kr = CountCall(IOConnectCallMethod(session_->connect, kDextioSelectorSubmitDescriptor, scalars,
                                           kDextioSubmitDescriptorScalarCount, in ? nullptr : data, in ? 0 : length,
                                           nullptr, nullptr, in ? data : nullptr, in ? &outSize : nullptr));
    if (kr == kIOReturnSuccess) {
        pinned_.emplace(tag, Napi::Persistent(info[1]));
        tags_.insert(tag);
        Busy(env);
    }
    return Napi::Number::New(env, kr);
}

Napi::Value Connection::Control(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "control");
    auto request = std::make_unique<ControlRequest>(ControlRequest{Napi::Promise::Deferred::New(env), session_.get(), false, {}, {}});
    uint64_t *scalars = request->scalars;
    scalars[kDextioControlRequestType] = IntegerArgument(info, 0, "bmRequestType", 0, 0xff);
    scalars[kDextioControlRequest] = IntegerArgument(info, 1, "bRequest", 0, 0xff);
    scalars[kDextioControlValue] = IntegerArgument(info, 2, "wValue", 0, 0xffff);
    scalars[kDextioControlIndex] = IntegerArgument(info, 3, "wIndex", 0, 0xffff);
    request->in = (scalars[kDextioControlRequestType] & 0x80) != 0;
    if (request->in) {
        request->data.resize(IntegerArgument(info, 4, "length", 0, kDextioMaxControlLength));
    } else {
        if (info.Length() < 5 || !info[4].IsTypedArray() ||
            info[4].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
            throw Napi::TypeError::New(env, "data must be a Uint8Array for an OUT request");
        }
        Napi::Uint8Array bytes = info[4].As<Napi::Uint8Array>();
        if (bytes.ByteLength() > kDextioMaxControlLength) {
            throw Napi::RangeError::New(env,
                                        "data must be at most " + std::to_string(kDextioMaxControlLength) + " bytes");
        }
        request->data.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
    }
    scalars[kDextioControlLength] = request->data.size();
    /* 0 is the dext's default, never "forever": a control request always ends. */
    scalars[kDextioControlTimeoutMs] = IntegerArgument(info, 5, "timeout", 0, kDextioControlTimeoutMaxMs);
    Napi::Promise promise = request->deferred.Promise();
    controlQueue_.push_back(request.release());
    Busy(env);
    if (controlInFlight_ == nullptr) StartControl(env);
    return promise;
}

void Connection::StartControl(Napi::Env env)
{
    while (controlInFlight_ == nullptr && !controlQueue_.empty()) {
        ControlRequest *request = controlQueue_.front();
        controlQueue_.pop_front();
        uint64_t reference[kOSAsyncRef64Count] = {};
        reference[kIOAsyncCalloutFuncIndex] = (uint64_t)(uintptr_t)&Connection::ControlDone;
        reference[kIOAsyncCalloutRefconIndex] = (uint64_t)(uintptr_t)request;
        /* The structure is the data stage where IOKit passes it the way the dext expects: an OUT
         * stage always (by value up to 4096 bytes), an IN stage only above 4096 bytes (then the dext
         * writes into this buffer; up to 4096 bytes it lands in the mapped control buffer). */
        size_t length = request->data.size();
        size_t outSize = length;
        bool descriptorIn = request->in && length > kDextioSlotCapacity;
        kern_return_t kr = CountCall(IOConnectCallAsyncMethod(
            session_->connect, request->in ? kDextioSelectorControlIn : kDextioSelectorControlOut,
            IONotificationPortGetMachPort(session_->port), reference, kIOAsyncCalloutCount, request->scalars,
            kDextioControlScalarCount, request->in || length == 0 ? nullptr : request->data.data(),
            request->in ? 0 : length, nullptr, nullptr, descriptorIn ? request->data.data() : nullptr,
            descriptorIn ? &outSize : nullptr));
        if (kr == kIOReturnSuccess) {
            controlInFlight_ = request;
        } else {
            request->status = kr;
            request->bytes = 0;
            FinishControl(env, request);
        }
    }
}

void Connection::FinishControl(Napi::Env env, ControlRequest *request)
{
    std::unique_ptr<ControlRequest> owned(request);
    if (controlInFlight_ == request) controlInFlight_ = nullptr;
    Napi::Object out = Napi::Object::New(env);
    out.Set("status", Napi::Number::New(env, request->status));
    out.Set("bytes", Napi::Number::New(env, (double)request->bytes));
    size_t received = request->in && request->status == kIOReturnSuccess ? (size_t)request->bytes : 0;
    out.Set("data", Napi::Buffer<uint8_t>::Copy(env, request->data.data(), received));
    request->deferred.Resolve(out);
    Idle(env);
    if (open_) StartControl(env);
}

Napi::Value Connection::Abort(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "abort");
    uint64_t pipe = PipeArgument(info, 0);
    /* An abort covers every transfer submitted before it, also those still in the ring. */
    Flush(session_.get());
    return Napi::Number::New(env, CountCall(IOConnectCallScalarMethod(session_->connect, kDextioSelectorAbortPipe, &pipe, 1,
                                                            nullptr, nullptr)));
}

Napi::Value Connection::ClearHalt(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "clearHalt");
    uint64_t pipe = PipeArgument(info, 0);
    return Napi::Number::New(env, CountCall(IOConnectCallScalarMethod(session_->connect, kDextioSelectorClearStall, &pipe, 1,
                                                            nullptr, nullptr)));
}

Napi::Value Connection::SelectAlternate(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "selectAlternate");
    uint64_t alternate = IntegerArgument(info, 0, "alternateSetting", 0, 0xff);
    kern_return_t kr = CountCall(IOConnectCallScalarMethod(session_->connect, kDextioSelectorSelectAltSetting, &alternate, 1,
                                                 nullptr, nullptr));
    if (kr == kIOReturnSuccess) {
        /* The pipes change with the setting: views of the old ones are detached (no view outlives
         * what the dext may have released), and slots() maps afresh. */
        DetachSlotViews();
        ListPipes(session_->connect, &pipes_);
    }
    return Napi::Number::New(env, kr);
}

Napi::Value Connection::Counters(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("open", open_);
    result.Set("closing", closing_);
    result.Set("inFlight", (double)tags_.size());
    result.Set("pinned", (double)pinned_.size());
    result.Set("leases", (double)leases_->size());
    if (session_) {
        result.Set("doorbells", (double)session_->doorbells.load());
        result.Set("kicks", (double)session_->kicks.load());
        result.Set("completions", (double)session_->completions);
        if (open_ && session_->mapped.load()) {
            result.Set("ringDoorbells", (double)__atomic_load_n(&session_->ring->header.doorbellCount, __ATOMIC_SEQ_CST));
            result.Set("ringCompletions",
                       (double)__atomic_load_n(&session_->ring->header.completionCount, __ATOMIC_SEQ_CST));
        }
    } else {
        result.Set("doorbells", 0.0);
        result.Set("kicks", 0.0);
        result.Set("completions", 0.0);
    }
    return result;
}

void Connection::DetachSlotViews()
{
    auto detach = [](Napi::Reference<Napi::ArrayBuffer> &buffer) {
        if (!buffer.IsEmpty()) {
            Napi::ArrayBuffer value = buffer.Value();
            if (!value.IsEmpty() && !value.IsDetached()) value.Detach();
        }
    };
    for (auto &buffer : slotBuffers_) detach(buffer);
    for (auto &lease : *leases_) detach(lease.second);
    slotBuffers_.clear();
    slotArrays_.clear();
    leases_->clear();
    shadows_.clear();
    copyIn_.clear();
}

Napi::Value Connection::Close(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    double timeoutMs = info.Length() > 0 && !info[0].IsUndefined()
                           ? (double)IntegerArgument(info, 0, "timeout", 0, 600000)
                           : kCloseTimeoutMs;
    if (!open_) {
        if (closing_ && closed_) return closedPromise_.Value();
        Napi::Promise::Deferred done = Napi::Promise::Deferred::New(env);
        done.Resolve(Napi::Boolean::New(env, !closing_));
        return done.Promise();
    }
    open_ = false;
    Session *session = session_.get();
    /* 1. No more reads of the dext's memory: the ring is drained on this thread, and a control
     *    completion that is reading the control buffer on the queue finishes first; later ones
     *    do not touch it (IOServiceClose lets the kernel unmap it any time). */
    session->mapped = false;
    dispatch_sync_f(session->queue, nullptr, Noop);
    DetachSlotViews();
    slotAddresses_.clear();
    /* 2. Requests never sent end here; the one in flight ends through the dext (aborted). */
    while (!controlQueue_.empty()) {
        ControlRequest *request = controlQueue_.front();
        controlQueue_.pop_front();
        request->status = kIOReturnAborted;
        FinishControl(env, request);
    }
    /* 3. Close: the dext aborts what is in flight, and says when it has stopped. Until then the
     *    pinned buffers stay pinned, and the port and the thread-safe function stay. */
    IOServiceClose(session->connect);
    session->connect = IO_OBJECT_NULL;
    closing_ = true;
    closed_ = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    Napi::Promise promise = closed_->Promise();
    closedPromise_ = Napi::Persistent(promise);
    {
        std::lock_guard<std::mutex> lock(gClosingMutex);
        if (!session->stopped) {
            session->countedClosing = true;
            gClosing++;
        }
    }
    /* Teardown follows the stopped notice in message order: the completions the dext sent before
     * it (a control request's, say) must reach us first. Only a notice this thread has already
     * handled (the device went away while open) lets it happen now. */
    if (stoppedSeen_) {
        Teardown(env);
        return promise;
    }
    if (!functionRefed_) {
        session->function.Ref(env);
        functionRefed_ = true;
    }
    /* Bounded: should the notice never come, close() resolves false and the pinned buffers stay
     * pinned until it does (or the process ends), rather than be freed under the device. */
    Napi::Function timedOut = Napi::Function::New(env, [this](const Napi::CallbackInfo &callback) {
        CloseTimedOut(callback.Env());
    });
    Napi::Function setTimeout = env.Global().Get("setTimeout").As<Napi::Function>();
    closeTimer_ = Napi::Persistent(setTimeout.Call({timedOut, Napi::Number::New(env, timeoutMs)}));
    return promise;
}

void Connection::CloseTimedOut(Napi::Env env)
{
    closeTimer_.Reset();
    if (!closing_ || !closed_) return;
    closed_->Resolve(Napi::Boolean::New(env, false));
    closed_.reset();
    closedPromise_.Reset();
    if (functionRefed_) {
        session_->function.Unref(env);
        functionRefed_ = false;
    }
}

void Connection::Teardown(Napi::Env env)
{
    if (!closeTimer_.IsEmpty()) {
        env.Global().Get("clearTimeout").As<Napi::Function>().Call({closeTimer_.Value()});
        closeTimer_.Reset();
    }
    Session *session = session_.get();
    /* The dext holds none of our memory and sends nothing more. */
    pinned_.clear();
    tags_.clear();
    if (controlInFlight_ != nullptr) {
        controlInFlight_->status = kIOReturnAborted;
        FinishControl(env, controlInFlight_);
    }
    busy_ = 0;
    closing_ = false;
    if (closed_) {
        closed_->Resolve(Napi::Boolean::New(env, true));
        closed_.reset();
        closedPromise_.Reset();
    }
    IONotificationPortDestroy(session->port);
    session->port = nullptr;
    dispatch_release(session->queue);
    session->queue = nullptr;
    session->ring = nullptr;
    session->consumer = nullptr;
    session->controlBuffer = nullptr;
    session->submissions = nullptr;
    if (functionRefed_) {
        session->function.Unref(env);
        functionRefed_ = false;
    }
    session->function.Release();
}

} // namespace dextio
