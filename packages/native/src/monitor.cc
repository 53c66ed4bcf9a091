/*
 * Monitor: IOServiceAddMatchingNotification(kIOFirstMatchNotification / kIOTerminatedNotification,
 * IOServiceNameMatching("DextioDriver")) on a port with its own serial queue; each iterator is
 * drained once to arm it, then on every callback. Events reach JS through one ThreadSafeFunction,
 * which does not keep the event loop alive.
 */
#include "monitor.h"

#include "errors.h"

namespace dextio {

namespace {
void Noop(void *) {}
} // namespace

Napi::Function Monitor::Init(Napi::Env env)
{
    return DefineClass(env, "Monitor",
                       {InstanceMethod<&Monitor::Start>("start"), InstanceMethod<&Monitor::Stop>("stop")});
}

Monitor::Monitor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Monitor>(info)
{
    if (info.Length() < 1 || !info[0].IsFunction()) {
        throw Napi::TypeError::New(info.Env(), "onEvent must be a function");
    }
    onEvent_ = Napi::Persistent(info[0].As<Napi::Function>());
}

int Monitor::Drain(io_iterator_t iterator)
{
    int count = 0;
    for (io_object_t service; (service = IOIteratorNext(iterator)) != IO_OBJECT_NULL; count++) {
        IOObjectRelease(service);
    }
    return count;
}

void Monitor::Matched(void *refcon, io_iterator_t iterator)
{
    auto *monitor = static_cast<Monitor *>(refcon);
    for (int n = Drain(iterator); n > 0; n--) monitor->function_.NonBlockingCall(new MonitorEvent(true));
}

void Monitor::Terminated(void *refcon, io_iterator_t iterator)
{
    auto *monitor = static_cast<Monitor *>(refcon);
    for (int n = Drain(iterator); n > 0; n--) monitor->function_.NonBlockingCall(new MonitorEvent(false));
}

void DeliverMonitorEvent(Napi::Env env, Napi::Function callback, Monitor *, MonitorEvent *event)
{
    bool attach = *event;
    delete event;
    if (env == nullptr) return;
    try {
        callback.Call({Napi::String::New(env, attach ? "attach" : "detach")});
    } catch (const Napi::Error &error) {
        napi_fatal_exception(env, error.Value());
    }
}

Napi::Value Monitor::Start(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    if (running_) return env.Undefined();
    Ref();
    function_ = MonitorFunction::New(env, onEvent_.Value(), "dextio.hotplug", 0, 1, this,
                                     [](Napi::Env, void *, Monitor *monitor) { monitor->Unref(); }, (void *)nullptr);
    function_.Unref(env);
    queue_ = dispatch_queue_create("io.dextio.native.hotplug", DISPATCH_QUEUE_SERIAL);
    port_ = IONotificationPortCreate(kIOMainPortDefault);
    IONotificationPortSetDispatchQueue(port_, queue_);
    kern_return_t kr = IOServiceAddMatchingNotification(port_, kIOFirstMatchNotification,
                                                        IOServiceNameMatching("DextioDriver"), Matched, this, &matched_);
    if (kr == kIOReturnSuccess) {
        kr = IOServiceAddMatchingNotification(port_, kIOTerminatedNotification, IOServiceNameMatching("DextioDriver"),
                                              Terminated, this, &terminated_);
    }
    running_ = true;
    if (kr != kIOReturnSuccess) {
        Stop(info);
        ThrowIOReturn(env, "hotplug: IOServiceAddMatchingNotification", kr);
    }
    /* Arm both: the services present now are not events. On the queue, like every callback. */
    dispatch_sync_f(queue_, this, [](void *context) {
        auto *monitor = static_cast<Monitor *>(context);
        Drain(monitor->matched_);
        Drain(monitor->terminated_);
    });
    return env.Undefined();
}

Napi::Value Monitor::Stop(const Napi::CallbackInfo &info)
{
    if (!running_) return info.Env().Undefined();
    running_ = false;
    if (matched_ != IO_OBJECT_NULL) IOObjectRelease(matched_);
    if (terminated_ != IO_OBJECT_NULL) IOObjectRelease(terminated_);
    matched_ = terminated_ = IO_OBJECT_NULL;
    IONotificationPortDestroy(port_);
    port_ = nullptr;
    dispatch_sync_f(queue_, nullptr, Noop); /* a callback that is running finishes first */
    dispatch_release(queue_);
    queue_ = nullptr;
    function_.Release();
    return info.Env().Undefined();
}

} // namespace dextio
