/*
 * @dextio/native: the IOKit user client of the dext. Exports `Connection`, `Monitor`, `services()`,
 * the ABI's limits, and on the host runtime (Linux) `host`: live-object counts and the virtual
 * gadget's fault injection.
 */
#include <napi.h>

#include <dextio/abi.h>

#include "connection.h"
#include "monitor.h"
#include "services.h"

#ifdef DEXTIO_HOST_RUNTIME
#include <dextio/host.h>
#endif

namespace {

#ifdef DEXTIO_HOST_RUNTIME
uint8_t AddressArgument(const Napi::CallbackInfo &info)
{
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "address must be a number");
    double value = info[0].As<Napi::Number>().DoubleValue();
    if (!(value >= 0 && value <= 0xff) || value != (double)(uint32_t)value) {
        throw Napi::RangeError::New(info.Env(), "address must be an endpoint address, 0 to 0xff");
    }
    return (uint8_t)value;
}

Napi::Object HostExports(Napi::Env env)
{
    Napi::Object host = Napi::Object::New(env);
    host.Set("liveCounts", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        DextioHostLiveCounts counts{};
        DextioHostGetLiveCounts(&counts);
        Napi::Object out = Napi::Object::New(info.Env());
        out.Set("objects", (double)counts.objects);
        out.Set("descriptors", (double)counts.descriptors);
        out.Set("actions", (double)counts.actions);
        out.Set("mappings", (double)counts.mappings);
        out.Set("clients", (double)counts.clients);
        out.Set("services", (double)counts.services);
        out.Set("queues", (double)counts.queues);
        out.Set("connections", (double)counts.connections);
        out.Set("notificationPorts", (double)counts.notificationPorts);
        return out;
    }));
    host.Set("gadgetInjectStall", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        DextioHostGadgetInjectStall(AddressArgument(info));
    }));
    host.Set("gadgetInjectBabble", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        DextioHostGadgetInjectBabble(AddressArgument(info));
    }));
    host.Set("gadgetInjectTimeout", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        uint8_t address = AddressArgument(info);
        if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(info.Env(), "count must be a number");
        double count = info[1].As<Napi::Number>().DoubleValue();
        if (!(count >= 0 && count <= 0xffffffffu) || count != (double)(uint32_t)count) {
            throw Napi::RangeError::New(info.Env(), "count must be an integer, 0 to 2^32 - 1");
        }
        DextioHostGadgetInjectTimeout(address, (uint32_t)count);
    }));
    host.Set("gadgetSetPattern", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "pattern must be a string");
        std::string pattern = info[0].As<Napi::String>();
        if (pattern == "zeros") DextioHostGadgetSetPattern(kDextioGadgetPatternZeros);
        else if (pattern == "mod63") DextioHostGadgetSetPattern(kDextioGadgetPatternMod63);
        else throw Napi::RangeError::New(info.Env(), "pattern must be 'zeros' or 'mod63'");
    }));
    host.Set("gadgetInjectControlTimeout", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "count must be a number");
        double count = info[0].As<Napi::Number>().DoubleValue();
        if (!(count >= 0 && count <= 0xffffffffu) || count != (double)(uint32_t)count) {
            throw Napi::RangeError::New(info.Env(), "count must be an integer, 0 to 2^32 - 1");
        }
        DextioHostGadgetInjectControlTimeout((uint32_t)count);
    }));
    host.Set("gadgetSetBus", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "bus must be a string");
        std::string bus = info[0].As<Napi::String>();
        if (bus == "high-speed") DextioHostGadgetSetBus(kDextioGadgetBusHighSpeed);
        else if (bus == "unthrottled") DextioHostGadgetSetBus(kDextioGadgetBusUnthrottled);
        else throw Napi::RangeError::New(info.Env(), "bus must be 'high-speed' or 'unthrottled'");
    }));
    host.Set("gadgetBus", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        return Napi::String::New(info.Env(),
                                 DextioHostGadgetBus() == kDextioGadgetBusUnthrottled ? "unthrottled" : "high-speed");
    }));
    host.Set("holdTerminations", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "hold must be a boolean");
        DextioHostHoldTerminations(info[0].As<Napi::Boolean>().Value() ? 1 : 0);
    }));
    /* Unplug and plug: both wait for the dext (stopped / started); a few milliseconds. */
    host.Set("gadgetDisconnect",
             Napi::Function::New(env, [](const Napi::CallbackInfo &) { DextioHostGadgetDisconnect(); }));
    host.Set("gadgetConnect", Napi::Function::New(env, [](const Napi::CallbackInfo &) { DextioHostGadgetConnect(); }));
    return host;
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    exports.Set("Connection", dextio::Connection::Init(env));
    exports.Set("Monitor", dextio::Monitor::Init(env));
    exports.Set("services", Napi::Function::New(env, dextio::Services, "services"));
    exports.Set("ipcCounters", Napi::Function::New(env, [](const Napi::CallbackInfo &info) {
        Napi::Object counters = Napi::Object::New(info.Env());
        counters.Set("calls", (double)dextio::gIpc.calls.load());
        counters.Set("messages", (double)dextio::gIpc.messages.load());
        return counters;
    }, "ipcCounters"));
    Napi::Object limits = Napi::Object::New(env);
    limits.Set("abiVersion", (double)DEXTIO_ABI_VERSION);
    limits.Set("slotCapacity", (double)kDextioSlotCapacity);
    limits.Set("slotsPerPipe", (double)kDextioSlotsPerPipe);
    limits.Set("maxDescriptorTransfers", (double)kDextioMaxDescriptorTransfers);
    limits.Set("maxDescriptorLength", (double)kDextioMaxDescriptorLength);
    limits.Set("maxControlLength", (double)kDextioMaxControlLength);
    limits.Set("controlTimeoutDefaultMs", (double)kDextioControlTimeoutDefaultMs);
    limits.Set("controlTimeoutMaxMs", (double)kDextioControlTimeoutMaxMs);
    exports.Set("limits", limits);
    /* Whether slots are views of the mapped memory itself, or (where V8 refuses memory from
     * outside its cage, as in Electron) JavaScript's own memory that the addon copies. */
    exports.Set("externalBuffers", Napi::Boolean::New(env, dextio::ExternalBuffersAllowed(env)));
#ifdef DEXTIO_HOST_RUNTIME
    exports.Set("host", HostExports(env));
#endif
    return exports;
}

} // namespace

NODE_API_MODULE(dextio_native, Init)
