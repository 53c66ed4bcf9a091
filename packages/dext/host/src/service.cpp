// Host runtime: IOService and IOUserClient, the kernel side of their remote methods.
#include <DriverKit/IOService.h>
#include <DriverKit/IOUserClient.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "internal.h"
#include "queue.h"

const HostPersonality gHostPersonality = {
    "DextioDriver", "DextioUserClient", 0x0525, 0xa4a0, 0, 1,
};

IOService::IOService() : hostState(new HostServiceState)
{
    gHostLive.services++;
}

IOService::~IOService()
{
    delete hostState;
    gHostLive.services--;
}

void IOService::free()
{
    OSSafeReleaseNULL(hostState->provider);
    OSObject::free();
}

kern_return_t IOService::Start(IOService *provider, OSDispatchMethod supermethod)
{
    Start_Msg msg = { provider };
    return OSHostCall(this, IOService_Start_ID, IOService_Start_ID, &msg, supermethod);
}

kern_return_t IOService::Stop(IOService *provider, OSDispatchMethod supermethod)
{
    Stop_Msg msg = { provider };
    return OSHostCall(this, IOService_Stop_ID, IOService_Stop_ID, &msg, supermethod);
}

kern_return_t IOService::NewUserClient(uint32_t type, IOUserClient **userClient, OSDispatchMethod supermethod)
{
    NewUserClient_Msg msg = { type, userClient };
    return OSHostCall(this, IOService_NewUserClient_ID, IOService_NewUserClient_ID, &msg, supermethod);
}

kern_return_t IOService::Dispatch(const IORPC rpc)
{
    return _Dispatch(this, rpc);
}

kern_return_t IOService::_Dispatch(OSMetaClassBase *self, const IORPC rpc)
{
    switch (rpc.msgid) {
    case IOService_Start_ID:
        return Start_Invoke(rpc, self, &IOService::Start_Impl);
    case IOService_Stop_ID:
        return Stop_Invoke(rpc, self, &IOService::Stop_Impl);
    case IOService_NewUserClient_ID:
        return NewUserClient_Invoke(rpc, self, &IOService::NewUserClient_Impl);
    default:
        return OSObject::_Dispatch(self, rpc);
    }
}

kern_return_t IOService::Start_Impl(IOService *)
{
    return kIOReturnSuccess;
}

kern_return_t IOService::Stop_Impl(IOService *)
{
    std::lock_guard<std::mutex> lock(hostState->mutex);
    hostState->stopped = true;
    hostState->changed.notify_all();
    return kIOReturnSuccess;
}

kern_return_t IOService::NewUserClient_Impl(uint32_t, IOUserClient **)
{
    return kIOReturnUnsupported;
}

kern_return_t IOService::RegisterService(OSDispatchMethod)
{
    std::lock_guard<std::mutex> lock(hostState->mutex);
    hostState->registered = true;
    return kIOReturnSuccess;
}

IOService *IOService::GetProvider() const
{
    return hostState->provider;
}

kern_return_t IOService::Create(IOService *provider, const IOPropertyName propertiesKey, IOService **result,
                                OSDispatchMethod)
{
    const HostPersonality *personality = hostState->personality;
    if (provider == nullptr || result == nullptr || personality == nullptr ||
        strcmp(propertiesKey, "UserClientProperties") != 0) {
        return kIOReturnBadArgument;
    }
    OSObject *object = OSHostCreateInstance(personality->userClientClass);
    IOService *service = OSDynamicCast(IOService, object);
    if (service == nullptr) {
        OSSafeReleaseNULL(object);
        return kIOReturnNotFound;
    }
    IODispatchQueue *queue = nullptr;
    kern_return_t ret = IODispatchQueue::Create(kIOServiceDefaultQueueName, 0, 0, &queue);
    if (ret != kIOReturnSuccess) {
        service->release();
        return ret;
    }
    service->HostSetDefaultQueue(queue);
    OSSafeReleaseNULL(queue);
    provider->retain();
    service->hostState->provider = provider;
    service->hostState->personality = personality;
    if (!service->init()) {
        service->release();
        return kIOReturnNoMemory;
    }
    service->HostDefaultQueue()->HostQueue()->Sync([&] { ret = service->Start(provider); });
    if (ret != kIOReturnSuccess) {
        service->release();
        return ret;
    }
    *result = service;
    return kIOReturnSuccess;
}

void HostTerminateService(IOService *service, IOService *provider)
{
    HostServiceState *state = service->HostState();
    bool first = false;
    {
        std::lock_guard<std::mutex> lock(state->mutex);
        first = !state->terminated;
        state->terminated = true;
    }
    // A second caller (a close racing an unplug) only waits for the first one's Stop.
    if (first) {
        service->HostDefaultQueue()->HostQueue()->Sync([&] { service->Stop(provider); });
    }
    // Stop may finish later (super::Stop from a cancel handler, once transfers have drained).
    std::unique_lock<std::mutex> lock(state->mutex);
    if (!state->changed.wait_for(lock, std::chrono::seconds(10), [&] { return state->stopped; })) {
        fprintf(stderr, "dextio host: %s did not reach super::Stop within 10 s\n", typeid(*service).name());
    }
}

// IOUserClient

IOUserClient::IOUserClient()
{
    gHostLive.clients++;
}

IOUserClient::~IOUserClient()
{
    gHostLive.clients--;
}

kern_return_t IOUserClient::ExternalMethod(uint64_t, IOUserClientMethodArguments *arguments,
                                           const IOUserClientMethodDispatch *dispatch, OSObject *target,
                                           void *reference)
{
    if (dispatch == nullptr) {
        return kIOReturnUnsupported;
    }
    if (dispatch->checkCompletionExists != static_cast<uint32_t>(-1) &&
        (arguments->completion != nullptr) != (dispatch->checkCompletionExists != 0)) {
        return kIOReturnBadArgument;
    }
    if (dispatch->checkScalarInputCount != kIOUserClientVariableStructureSize &&
        arguments->scalarInputCount != dispatch->checkScalarInputCount) {
        return kIOReturnBadArgument;
    }
    if (dispatch->checkStructureInputSize != kIOUserClientVariableStructureSize) {
        uint64_t size = 0;
        if (arguments->structureInput != nullptr) {
            size = arguments->structureInput->getLength();
        } else if (arguments->structureInputDescriptor != nullptr) {
            arguments->structureInputDescriptor->GetLength(&size);
        }
        if (size != dispatch->checkStructureInputSize) {
            return kIOReturnBadArgument;
        }
    }
    if (dispatch->checkScalarOutputCount != kIOUserClientVariableStructureSize &&
        arguments->scalarOutputCount != dispatch->checkScalarOutputCount) {
        return kIOReturnBadArgument;
    }
    if (dispatch->checkStructureOutputSize != kIOUserClientVariableStructureSize &&
        arguments->structureOutputMaximumSize != dispatch->checkStructureOutputSize) {
        return kIOReturnBadArgument;
    }
    if (dispatch->function == nullptr) {
        return kIOReturnNoCompletion;
    }
    return dispatch->function(target != nullptr ? target : this, reference, arguments);
}

void IOUserClient::AsyncCompletion(OSAction *action, IOReturn status, const uint64_t *asyncData,
                                   uint32_t asyncDataCount, OSDispatchMethod)
{
    // Only actions made for an async external method call lead back to a client.
    if (action == nullptr || action->HostMsgID() != IOUserClient_AsyncCompletion_ID ||
        action->HostTarget() != this) {
        fprintf(stderr, "dextio host: AsyncCompletion with an action that is not a client's\n");
        return;
    }
    // xnu's sendAsyncResult64 refuses more than 16 arguments (kIOReturnMessageTooLarge): the
    // message is dropped, and AsyncCompletion returns nothing to say so.
    if (asyncDataCount > kIOUserClientAsyncArgumentsCountMax) {
        fprintf(stderr, "dextio host: AsyncCompletion with %u arguments dropped (at most %d)\n", asyncDataCount,
                kIOUserClientAsyncArgumentsCountMax);
        return;
    }
    HostDeliverAsyncCompletion(static_cast<const HostAsyncReference *>(action->GetReference()), status, asyncData,
                               asyncDataCount);
}

kern_return_t IOUserClient::CopyClientMemoryForType(uint64_t type, uint64_t *options, IOMemoryDescriptor **memory,
                                                    OSDispatchMethod supermethod)
{
    CopyClientMemoryForType_Msg msg = { type, options, memory };
    return OSHostCall(this, IOUserClient_CopyClientMemoryForType_ID, IOUserClient_CopyClientMemoryForType_ID, &msg,
                      supermethod);
}

kern_return_t IOUserClient::Dispatch(const IORPC rpc)
{
    return _Dispatch(this, rpc);
}

kern_return_t IOUserClient::_Dispatch(OSMetaClassBase *self, const IORPC rpc)
{
    switch (rpc.msgid) {
    case IOUserClient_CopyClientMemoryForType_ID:
        return CopyClientMemoryForType_Invoke(rpc, self, &IOUserClient::CopyClientMemoryForType_Impl);
    default:
        return IOService::_Dispatch(self, rpc);
    }
}

kern_return_t IOUserClient::CopyClientMemoryForType_Impl(uint64_t, uint64_t *, IOMemoryDescriptor **)
{
    return kIOReturnUnsupported;
}
