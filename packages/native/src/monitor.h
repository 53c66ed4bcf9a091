/*
 * Monitor: IOKit matching notifications for DextioDriver (first match, terminated) as JS events.
 */
#ifndef DEXTIO_NATIVE_MONITOR_H
#define DEXTIO_NATIVE_MONITOR_H

#include <napi.h>

#include <IOKit/IOKitLib.h>
#include <dispatch/dispatch.h>

namespace dextio {

class Monitor;
/* An event: true for attach (first match), false for detach (terminated). */
using MonitorEvent = bool;
void DeliverMonitorEvent(Napi::Env env, Napi::Function callback, Monitor *monitor, MonitorEvent *event);
using MonitorFunction = Napi::TypedThreadSafeFunction<Monitor, MonitorEvent, DeliverMonitorEvent>;

class Monitor : public Napi::ObjectWrap<Monitor> {
public:
    static Napi::Function Init(Napi::Env env);
    explicit Monitor(const Napi::CallbackInfo &info);

private:
    Napi::Value Start(const Napi::CallbackInfo &info);
    Napi::Value Stop(const Napi::CallbackInfo &info);
    static void Matched(void *refcon, io_iterator_t iterator);
    static void Terminated(void *refcon, io_iterator_t iterator);
    /* Releases the services of an event; returns how many there were. */
    static int Drain(io_iterator_t iterator);

    Napi::FunctionReference onEvent_;
    MonitorFunction function_;
    IONotificationPortRef port_ = nullptr;
    dispatch_queue_t queue_ = nullptr;
    io_iterator_t matched_ = IO_OBJECT_NULL;
    io_iterator_t terminated_ = IO_OBJECT_NULL;
    bool running_ = false;
};

} // namespace dextio

#endif
