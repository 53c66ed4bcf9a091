/*
 * Host runtime: IOService. Start/Stop/NewUserClient are remote methods: the wrappers send an IORPC
 * to Dispatch (or to supermethod, which is how SUPERDISPATCH reaches the base implementation).
 * The "iig:remote" markers tell the iig generator which overrides are dispatched by message.
 */
#ifndef _DRIVERKIT_IOSERVICE_H
#define _DRIVERKIT_IOSERVICE_H

#include <DriverKit/OSObject.h>
#include <DriverKit/IODispatchQueue.h>

class IOUserClient;
struct HostServiceState;

/* Message IDs: Start is Apple's value; the others are host-local (only uniqueness matters here). */
#define IOService_Start_ID 0xab6f76dde6d693f2ULL
#define IOService_Stop_ID 0x98e715041c459fa5ULL
#define IOService_NewUserClient_ID 0xa08f4f8a0bd17ad7ULL
#define IOService_Start_Args IOService *provider
#define IOService_Stop_Args IOService *provider
#define IOService_NewUserClient_Args uint32_t type, IOUserClient **userClient

class IOService : public OSObject {
public:
    /* iig:remote IOService::Start */
    kern_return_t Start(IOService *provider, OSDispatchMethod supermethod = NULL);
    /* iig:remote IOService::Stop */
    kern_return_t Stop(IOService *provider, OSDispatchMethod supermethod = NULL);
    /* iig:remote IOService::NewUserClient */
    kern_return_t NewUserClient(uint32_t type, IOUserClient **userClient,
                                OSDispatchMethod supermethod = NULL);

    kern_return_t RegisterService(OSDispatchMethod supermethod = NULL);
    kern_return_t Create(IOService *provider, const IOPropertyName propertiesKey, IOService **result,
                         OSDispatchMethod supermethod = NULL);
    IOService *GetProvider() const;

    kern_return_t Dispatch(const IORPC rpc) override;
    static kern_return_t _Dispatch(OSMetaClassBase *self, const IORPC rpc);

    struct Start_Msg { IOService *provider; };
    struct Stop_Msg { IOService *provider; };
    struct NewUserClient_Msg { uint32_t type; IOUserClient **userClient; };
    template <class T>
    static kern_return_t Start_Invoke(const IORPC rpc, OSMetaClassBase *target,
                                      kern_return_t (T::*impl)(IOService_Start_Args))
    {
        auto *m = static_cast<Start_Msg *>(rpc.arguments);
        return (static_cast<T *>(target)->*impl)(m->provider);
    }
    template <class T>
    static kern_return_t Stop_Invoke(const IORPC rpc, OSMetaClassBase *target,
                                     kern_return_t (T::*impl)(IOService_Stop_Args))
    {
        auto *m = static_cast<Stop_Msg *>(rpc.arguments);
        return (static_cast<T *>(target)->*impl)(m->provider);
    }
    template <class T>
    static kern_return_t NewUserClient_Invoke(const IORPC rpc, OSMetaClassBase *target,
                                              kern_return_t (T::*impl)(IOService_NewUserClient_Args))
    {
        auto *m = static_cast<NewUserClient_Msg *>(rpc.arguments);
        return (static_cast<T *>(target)->*impl)(m->type, m->userClient);
    }

    /* Host only: lifecycle state kept by the host runtime. */
    HostServiceState *HostState() const { return hostState; }

protected:
    IOService();
    ~IOService() override;
    void free() override;
    kern_return_t Start_Impl(IOService_Start_Args);
    kern_return_t Stop_Impl(IOService_Stop_Args);
    kern_return_t NewUserClient_Impl(IOService_NewUserClient_Args);

private:
    HostServiceState *hostState;
};

#endif
