/*
 * Connection: the dext's user client, as the README of @dextio/dext describes a client's sequence:
 * match DextioDriver, open, a notification port on our own dispatch queue, map the completion ring
 * (and the slots on demand), submit with IOConnectCallAsyncMethod, and on every doorbell drain the
 * ring into one batch for the JS thread.
 */
#include "connection.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "errors.h"

namespace dextio {

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

struct ControlResult {
    IOReturn status = kIOReturnSuccess;
    uint64_t bytes = 0;
    std::vector<uint8_t> data;
};

/* A control transfer runs off the JS thread: it can take as long as its timeout. */
class ControlWorker : public Napi::AsyncWorker {
public:
    ControlWorker(Napi::Env env, std::shared_ptr<Session> session, const uint64_t (&scalars)[kDextioControlScalarCount],
                  bool in, std::vector<uint8_t> data)
        : Napi::AsyncWorker(env, "dextio.control"), deferred_(Napi::Promise::Deferred::New(env)),
          session_(std::move(session)), in_(in)
    {
        std::memcpy(scalars_, scalars, sizeof(scalars_));
        result_.data = std::move(data);
    }
    Napi::Promise Promise() const { return deferred_.Promise(); }

    void Execute() override
    {
        uint64_t output[1] = {0};
        uint32_t outputCount = 1;
        if (in_) {
            size_t size = result_.data.size();
            result_.status = IOConnectCallMethod(session_->connect, kDextioSelectorControlIn, scalars_,
                                                 kDextioControlScalarCount, nullptr, 0, output, &outputCount,
                                                 size ? result_.data.data() : nullptr, &size);
        } else {
            result_.status = IOConnectCallMethod(session_->connect, kDextioSelectorControlOut, scalars_,
                                                 kDextioControlScalarCount,
                                                 result_.data.empty() ? nullptr : result_.data.data(),
                                                 result_.data.size(), output, &outputCount, nullptr, nullptr);
        }
        result_.bytes = outputCount >= 1 ? output[0] : 0;
        if (result_.bytes > result_.data.size()) result_.bytes = in_ ? result_.data.size() : result_.bytes;
    }

    void OnOK() override
    {
        Napi::Env env = Env();
        Napi::Object out = Napi::Object::New(env);
        out.Set("status", Napi::Number::New(env, result_.status));
        out.Set("bytes", Napi::Number::New(env, (double)result_.bytes));
        size_t received = in_ && result_.status == kIOReturnSuccess ? (size_t)result_.bytes : 0;
        out.Set("data", Napi::Buffer<uint8_t>::Copy(env, result_.data.data(), received));
        deferred_.Resolve(out);
    }

private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<Session> session_;
    uint64_t scalars_[kDextioControlScalarCount];
    bool in_;
    ControlResult result_;
};

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

/* Wrapped into a lease's ArrayBuffer (napi_wrap), where JS cannot forge it: revokeLease reads it
 * to accept only leases of its own connection. */
struct LeaseTag {
    uint64_t connection;
    uint64_t lease;
};

std::atomic<uint64_t> gNextConnectionId{1};

} // namespace

Napi::Function Connection::Init(Napi::Env env)
{
    return DefineClass(env, "Connection",
                       {
                           InstanceMethod<&Connection::Open>("open"),
                           InstanceMethod<&Connection::Close>("close"),
                           InstanceAccessor<&Connection::IsOpen>("isOpen"),
                           InstanceMethod<&Connection::DeviceInfo>("deviceInfo"),
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

Connection::~Connection() = default; /* never open here: an open connection references itself */

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
    throw Napi::RangeError::New(info.Env(), "pipe 0x" + [&] {
        char hex[8];
        std::snprintf(hex, sizeof hex, "%02x", address);
        return std::string(hex);
    }() + " is not a pipe of the current alternate setting");
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

Napi::Value Connection::Open(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (open_) throw Napi::Error::New(env, "open: the connection is already open");
    io_service_t service = IOServiceGetMatchingService(kIOMainPortDefault, IOServiceNameMatching("DextioDriver"));
    if (service == IO_OBJECT_NULL) ThrowIOReturn(env, "open: no DextioDriver service", kIOReturnNoDevice);
    auto session = std::make_shared<Session>();
    kern_return_t kr = IOServiceOpen(service, mach_task_self(), 0, &session->connect);
    IOObjectRelease(service);
    if (kr != kIOReturnSuccess) ThrowIOReturn(env, "open: IOServiceOpen", kr);

    session->queue = dispatch_queue_create("io.dextio.native.doorbell", DISPATCH_QUEUE_SERIAL);
    session->port = IONotificationPortCreate(kIOMainPortDefault);
    IONotificationPortSetDispatchQueue(session->port, session->queue);
    mach_vm_address_t address = 0;
    mach_vm_size_t size = 0;
    kr = IOConnectMapMemory64(session->connect, DextioMemoryTypeCompletionRing(), mach_task_self(), &address, &size,
                              kIOMapAnywhere);
    if (kr == kIOReturnSuccess && size < sizeof(DextioCompletionRing)) kr = kIOReturnNoMemory;
    std::vector<DextioPipeInfo> pipes(kDextioMaxPipes);
    if (kr == kIOReturnSuccess) {
        uint64_t count = 0;
        uint32_t countSize = 1;
        size_t bytes = pipes.size() * sizeof(DextioPipeInfo);
        kr = IOConnectCallMethod(session->connect, kDextioSelectorGetPipes, nullptr, 0, nullptr, 0, &count, &countSize,
                                 pipes.data(), &bytes);
        pipes.resize(kr == kIOReturnSuccess ? std::min<size_t>(count, bytes / sizeof(DextioPipeInfo)) : 0);
    }
    if (kr != kIOReturnSuccess) {
        IOServiceClose(session->connect);
        IONotificationPortDestroy(session->port);
        dispatch_release(session->queue);
        ThrowIOReturn(env, "open: mapping the completion ring", kr);
    }
    session->ring = reinterpret_cast<DextioCompletionRing *>(address);
    /* The object stays alive until the function is finalized (after close and its last batch). */
    Ref();
    session->function = CompletionFunction::New(
        env, onCompletions_.Value(), "dextio.completions", 0, 1, this,
        [](Napi::Env, void *, Connection *connection) { connection->Unref(); }, (void *)nullptr);
    session->function.Unref(env);
    session->draining = true;
    session_ = std::move(session);
    pipes_ = std::move(pipes);
    open_ = true;
    /* Completions published before any doorbell could reach us (none yet, but cheap to check). */
    dispatch_async_f(session_->queue, session_.get(), [](void *context) { Drain(static_cast<Session *>(context)); });
    return env.Undefined();
}

void Connection::Doorbell(void *refcon, IOReturn, void **, uint32_t)
{
    auto *session = static_cast<Session *>(refcon);
    session->doorbells++;
    Drain(session);
}

void Connection::Drain(Session *session)
{
    if (!session->draining.load()) return;
    auto *batch = new Batch();
    batch->reserve(32);
    DextioCompletionRingDrain(
        session->ring,
        [](void *context, const DextioCompletion *completion) { static_cast<Batch *>(context)->push_back(*completion); },
        batch);
    if (batch->empty()) {
        delete batch;
        return;
    }
    session->completions += batch->size();
    if (session->function.NonBlockingCall(batch) != napi_ok) delete batch;
}

void DeliverBatch(Napi::Env env, Napi::Function callback, Connection *connection, Batch *batch)
{
    std::unique_ptr<Batch> owned(batch);
    if (env == nullptr || connection == nullptr) return;
    connection->Deliver(env, callback, batch);
}

void Connection::Deliver(Napi::Env env, Napi::Function callback, Batch *batch)
{
    size_t count = batch->size();
    Napi::Float64Array flat = Napi::Float64Array::New(env, count * 4);
    for (size_t i = 0; i < count; i++) {
        const DextioCompletion &c = (*batch)[i];
        flat[i * 4 + 0] = (double)c.tag;
        flat[i * 4 + 1] = (double)c.status;
        flat[i * 4 + 2] = (double)c.bytes;
        flat[i * 4 + 3] = (double)c.timestamp;
        pinned_.erase(c.tag);
    }
    inFlight_ = inFlight_ > count ? inFlight_ - count : 0;
    if (inFlight_ == 0 && functionRefed_ && open_) {
        session_->function.Unref(env);
        functionRefed_ = false;
    }
    try {
        callback.Call({flat});
    } catch (const Napi::Error &error) {
        /* A throwing handler is the app's uncaught exception, as for any event callback. */
        napi_fatal_exception(env, error.Value());
    }
}

void Connection::Submitted(Napi::Env env)
{
    inFlight_++;
    if (!functionRefed_) {
        session_->function.Ref(env); /* keep the event loop alive while transfers are in flight */
        functionRefed_ = true;
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
        IOConnectCallScalarMethod(session_->connect, kDextioSelectorGetDeviceInfo, nullptr, 0, out, &count);
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
    return result;
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
        /* No copy: the view is the mapping itself. The hint keeps the session (and so the mapping,
         * which lives as long as the connection) referenced until V8 lets go of the buffer; close()
         * detaches the buffer first, so no view outlives the mapping. */
        Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
            env, address, kDextioSlotCapacity, [](Napi::Env, void *, SlotHint *hint) { delete hint; },
            new SlotHint{session_});
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
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
        env, address, kDextioSlotCapacity,
        [](Napi::Env, void *, LeaseHint *hint) {
            hint->leases->erase(hint->id);
            delete hint;
        },
        new LeaseHint{session_, leases_, id});
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
    uint64_t scalars[kDextioSubmitSlotScalarCount];
    scalars[kDextioSubmitSlotPipe] = PipeArgument(info, 0);
    scalars[kDextioSubmitSlotSlot] = IntegerArgument(info, 1, "slot", 0, kDextioSlotsPerPipe - 1);
    scalars[kDextioSubmitSlotLength] = IntegerArgument(info, 2, "length", 0, kDextioSlotCapacity);
    scalars[kDextioSubmitSlotTimeoutMs] = IntegerArgument(info, 3, "timeout", 0, 0xffffffffu);
    scalars[kDextioSubmitSlotTag] = IntegerArgument(info, 4, "tag", 0, kMaxTag);
    uint64_t reference[kOSAsyncRef64Count] = {};
    reference[kIOAsyncCalloutFuncIndex] = (uint64_t)(uintptr_t)&Connection::Doorbell;
    reference[kIOAsyncCalloutRefconIndex] = (uint64_t)(uintptr_t)session_.get();
    kern_return_t kr = IOConnectCallAsyncMethod(session_->connect, kDextioSelectorSubmitSlot,
                                                IONotificationPortGetMachPort(session_->port), reference,
                                                kIOAsyncCalloutCount, scalars, kDextioSubmitSlotScalarCount, nullptr,
                                                0, nullptr, nullptr, nullptr, nullptr);
    if (kr == kIOReturnSuccess) Submitted(env);
    return Napi::Number::New(env, kr);
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
    uint64_t tag = IntegerArgument(info, 4, "tag", 0, kMaxTag);
    if (pinned_.count(tag) != 0) throw Napi::RangeError::New(env, "tag is already in use by a transfer in flight");
    uint64_t scalars[kDextioSubmitDescriptorScalarCount];
    scalars[kDextioSubmitDescriptorPipe] = pipe;
    scalars[kDextioSubmitDescriptorLength] = length;
    scalars[kDextioSubmitDescriptorTimeoutMs] = timeout;
    scalars[kDextioSubmitDescriptorTag] = tag;
    uint64_t reference[kOSAsyncRef64Count] = {};
    reference[kIOAsyncCalloutFuncIndex] = (uint64_t)(uintptr_t)&Connection::Doorbell;
    reference[kIOAsyncCalloutRefconIndex] = (uint64_t)(uintptr_t)session_.get();
    /* The dext sees this memory itself (a descriptor over it), so the buffer is pinned until the
     * completion: the reference keeps its ArrayBuffer, whose backing store never moves. */
    uint8_t *data = buffer.Data();
    size_t outSize = length;
    bool in = PipeIsIn(pipe);
    kern_return_t kr = IOConnectCallAsyncMethod(
        session_->connect, kDextioSelectorSubmitDescriptor, IONotificationPortGetMachPort(session_->port), reference,
        kIOAsyncCalloutCount, scalars, kDextioSubmitDescriptorScalarCount, in ? nullptr : data, in ? 0 : length,
        nullptr, nullptr, in ? data : nullptr, in ? &outSize : nullptr);
    if (kr == kIOReturnSuccess) {
        pinned_.emplace(tag, Napi::Persistent(info[1]));
        Submitted(env);
    }
    return Napi::Number::New(env, kr);
}

Napi::Value Connection::Control(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "control");
    uint64_t scalars[kDextioControlScalarCount];
    scalars[kDextioControlRequestType] = IntegerArgument(info, 0, "bmRequestType", 0, 0xff);
    scalars[kDextioControlRequest] = IntegerArgument(info, 1, "bRequest", 0, 0xff);
    scalars[kDextioControlValue] = IntegerArgument(info, 2, "wValue", 0, 0xffff);
    scalars[kDextioControlIndex] = IntegerArgument(info, 3, "wIndex", 0, 0xffff);
    bool in = (scalars[kDextioControlRequestType] & 0x80) != 0;
    std::vector<uint8_t> data;
    /* The structure is exactly the data stage, so IOKit passes it as the dext expects: by value up
     * to kDextioSlotCapacity bytes, as a descriptor of this buffer above. */
    if (in) {
        data.resize(IntegerArgument(info, 4, "length", 0, kDextioMaxControlLength));
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
        data.assign(bytes.Data(), bytes.Data() + bytes.ByteLength());
    }
    scalars[kDextioControlLength] = data.size();
    scalars[kDextioControlTimeoutMs] = IntegerArgument(info, 5, "timeout", 0, 0xffffffffu);
    auto *worker = new ControlWorker(env, session_, scalars, in, std::move(data));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

Napi::Value Connection::Abort(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "abort");
    uint64_t pipe = PipeArgument(info, 0);
    return Napi::Number::New(env, IOConnectCallScalarMethod(session_->connect, kDextioSelectorAbortPipe, &pipe, 1,
                                                            nullptr, nullptr));
}

Napi::Value Connection::ClearHalt(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "clearHalt");
    uint64_t pipe = PipeArgument(info, 0);
    return Napi::Number::New(env, IOConnectCallScalarMethod(session_->connect, kDextioSelectorClearStall, &pipe, 1,
                                                            nullptr, nullptr));
}

Napi::Value Connection::SelectAlternate(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    RequireOpen(env, "selectAlternate");
    uint64_t alternate = IntegerArgument(info, 0, "alternateSetting", 0, 0xff);
    kern_return_t kr = IOConnectCallScalarMethod(session_->connect, kDextioSelectorSelectAltSetting, &alternate, 1,
                                                 nullptr, nullptr);
    if (kr == kIOReturnSuccess) {
        /* The pipes change with the setting: views of the old ones are detached (no view outlives
         * what the dext may have released), and slots() maps afresh. */
        DetachSlotViews();
        std::vector<DextioPipeInfo> pipes(kDextioMaxPipes);
        uint64_t count = 0;
        uint32_t countSize = 1;
        size_t bytes = pipes.size() * sizeof(DextioPipeInfo);
        kern_return_t listed = IOConnectCallMethod(session_->connect, kDextioSelectorGetPipes, nullptr, 0, nullptr, 0,
                                                   &count, &countSize, pipes.data(), &bytes);
        pipes.resize(listed == kIOReturnSuccess ? std::min<size_t>(count, bytes / sizeof(DextioPipeInfo)) : 0);
        pipes_ = std::move(pipes);
    }
    return Napi::Number::New(env, kr);
}

Napi::Value Connection::Counters(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("open", open_);
    result.Set("inFlight", (double)inFlight_);
    result.Set("pinned", (double)pinned_.size());
    result.Set("leases", (double)leases_->size());
    if (session_) {
        result.Set("doorbells", (double)session_->doorbells.load());
        result.Set("completions", (double)session_->completions.load());
        if (open_ && session_->ring != nullptr) {
            result.Set("ringDoorbells", (double)__atomic_load_n(&session_->ring->header.doorbellCount, __ATOMIC_SEQ_CST));
            result.Set("ringCompletions",
                       (double)__atomic_load_n(&session_->ring->header.completionCount, __ATOMIC_SEQ_CST));
        }
    } else {
        result.Set("doorbells", 0.0);
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
}

void Connection::Shutdown(Napi::Env env)
{
    if (!open_) return;
    open_ = false;
    Session *session = session_.get();
    /* 1. Stop draining: a doorbell that is running finishes, later ones do nothing. */
    session->draining = false;
    dispatch_sync_f(session->queue, nullptr, Noop);
    /* No doorbell can call the function any more; batches already queued are still delivered. */
    if (functionRefed_) {
        session->function.Unref(env);
        functionRefed_ = false;
    }
    session->function.Release();
    /* Views of the mappings go first: after IOServiceClose the memory is gone. */
    DetachSlotViews();
    session->ring = nullptr;
    /* 2. Close: the dext aborts what is still in flight. */
    IOServiceClose(session->connect);
    session->connect = IO_OBJECT_NULL;
    /* 3. The port, then our queue (the port held its own reference). */
    IONotificationPortDestroy(session->port);
    session->port = nullptr;
    dispatch_release(session->queue);
    session->queue = nullptr;
    slotAddresses_.clear();
    pinned_.clear();
    inFlight_ = 0;
}

Napi::Value Connection::Close(const Napi::CallbackInfo &info)
{
    Shutdown(info.Env());
    return info.Env().Undefined();
}

} // namespace dextio
