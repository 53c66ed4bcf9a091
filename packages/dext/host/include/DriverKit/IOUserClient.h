/* Host runtime: IOUserClient (xnu iokit/DriverKit/IOUserClient.iig). */
#ifndef _DRIVERKIT_IOUSERCLIENT_H
#define _DRIVERKIT_IOUSERCLIENT_H

#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/OSData.h>
#include <DriverKit/IOMemoryDescriptor.h>

enum {
    kIOUserClientScalarArrayCountMax = 16,
    kIOUserClientAsyncReferenceCountMax = 16,
    kIOUserClientAsyncArgumentsCountMax = 16,
};
typedef uint64_t IOUserClientScalarArray[kIOUserClientScalarArrayCountMax];
typedef uint64_t IOUserClientAsyncReferenceArray[kIOUserClientAsyncReferenceCountMax];
typedef uint64_t IOUserClientAsyncArgumentsArray[kIOUserClientAsyncArgumentsCountMax];

enum {
    kIOUserClientMethodArgumentsCurrentVersion = 2,
};

struct IOUserClientMethodArguments {
    uint64_t version;
    uint64_t selector;
    OSAction *completion;
    const uint64_t *scalarInput;
    uint32_t scalarInputCount;
    OSData *structureInput;
    IOMemoryDescriptor *structureInputDescriptor;
    uint64_t *scalarOutput;
    uint32_t scalarOutputCount;
    OSData *structureOutput;
    IOMemoryDescriptor *structureOutputDescriptor;
    uint64_t structureOutputMaximumSize;
    uint64_t __reserved[30];
};

typedef kern_return_t (*IOUserClientMethodFunction)(OSObject *target, void *reference,
                                                    IOUserClientMethodArguments *arguments);

struct IOUserClientMethodDispatch {
    IOUserClientMethodFunction function;
    uint32_t checkCompletionExists;
    uint32_t checkScalarInputCount;
    uint32_t checkStructureInputSize;
    uint32_t checkScalarOutputCount;
    uint32_t checkStructureOutputSize;
};

enum {
    kIOUserClientVariableStructureSize = 0xffffffff,
};

enum {
    kIOUserClientMemoryReadOnly = 0x00000001,
};

#define kIOUserClientQueueNameExternalMethod "IOUserClientQueueExternalMethod"

/* AsyncCompletion is Apple's value; CopyClientMemoryForType is host-local. */
#define IOUserClient_AsyncCompletion_ID 0xdbc5b2e5d2b446f4ULL
#define IOUserClient_CopyClientMemoryForType_ID 0x8399bdb3d0b4f474ULL
#define IOUserClient_CopyClientMemoryForType_Args uint64_t type, uint64_t *options, IOMemoryDescriptor **memory

class IOUserClient : public IOService {
public:
    virtual kern_return_t ExternalMethod(uint64_t selector, IOUserClientMethodArguments *arguments,
                                         const IOUserClientMethodDispatch *dispatch, OSObject *target,
                                         void *reference);
    void AsyncCompletion(OSAction *action, IOReturn status, const uint64_t *asyncData,
                         uint32_t asyncDataCount, OSDispatchMethod supermethod = NULL);
    /* iig:remote IOUserClient::CopyClientMemoryForType */
    kern_return_t CopyClientMemoryForType(uint64_t type, uint64_t *options, IOMemoryDescriptor **memory,
                                          OSDispatchMethod supermethod = NULL);
    /* DriverKit 20. The client task is this process: a segment's address is used as is. */
    virtual kern_return_t CreateMemoryDescriptorFromClient(uint64_t memoryDescriptorCreateOptions,
                                                           uint32_t segmentsCount,
                                                           const IOAddressSegment segments[32],
                                                           IOMemoryDescriptor **memory);

    kern_return_t Dispatch(const IORPC rpc) override;
    static kern_return_t _Dispatch(OSMetaClassBase *self, const IORPC rpc);

    struct CopyClientMemoryForType_Msg { uint64_t type; uint64_t *options; IOMemoryDescriptor **memory; };
    template <class T>
    static kern_return_t CopyClientMemoryForType_Invoke(
        const IORPC rpc, OSMetaClassBase *target,
        kern_return_t (T::*impl)(IOUserClient_CopyClientMemoryForType_Args))
    {
        auto *m = static_cast<CopyClientMemoryForType_Msg *>(rpc.arguments);
        return (static_cast<T *>(target)->*impl)(m->type, m->options, m->memory);
    }

protected:
    IOUserClient();
    ~IOUserClient() override;
    kern_return_t CopyClientMemoryForType_Impl(IOUserClient_CopyClientMemoryForType_Args);
};

#endif
