//
// DextioUserClient: one app's connection to the device.
//
// Data paths (see include/dextio/abi.h):
//  - mapped: every pipe has kDextioSlotsPerPipe slots, each one buffer from CreateIOBuffer that
//    the app maps once (CopyClientMemoryForType); a submission names a slot and a length.
//  - descriptor: transfers above kDextioSlotCapacity bytes arrive as the structure descriptor of
//    the call and go to AsyncIO as they are; control data stages above it likewise go to
//    AsyncDeviceRequest.
// Every completion is written into the completion ring, mapped read-only into the app; the app's
// progress comes back on a page of its own. The registered notification action is the doorbell,
// sent only when the ring goes from empty to non-empty, and carries the final stopped notice.
//
// Threading: ExternalMethod, CopyClientMemoryForType, TransferComplete, ControlComplete, Stop and
// the cancel handlers all run on this object's default queue, so the ivars need no locks. Nothing
// waits on that queue: control requests are asynchronous too. The ring is shared with the app:
// the dext only stores into it, and reads only the consumer index, which it checks.
//
// Ownership: the actions we create (one per slot, one per descriptor context, one for control)
// live until free(); each retains this object until it is cancelled. The app's notification action
// and the action of an in-flight control request are retained until the stopped notice and the
// control completion. Descriptors of in-flight transfers are retained until their completion.
//
// Teardown order (Stop):
//  1. retain this object and the provider for the deferred part; mark the client stopping; abort
//     every pipe and the control request: in-flight work completes with kIOReturnAborted through
//     TransferComplete and ControlComplete, which still report it;
//  2. when nothing is in flight, cancel every action we created;
//  3. when the last cancel handler has run: release pipes, slots, ring, buffers and interface, tell
//     the driver the client is gone (the device may be opened again), send the stopped notice,
//     call super::Stop, and drop the references taken in 1.
//

#include <os/log.h>
#include <string.h>

#include <DriverKit/IOLib.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/OSData.h>
#include <USBDriverKit/IOUSBHostInterface.h>
#include <USBDriverKit/IOUSBHostPipe.h>

#include <dextio/abi.h>

#include "DextioDriver.h"
#include "DextioUserClient.h"

namespace {

// One transfer context: a slot of a pipe, or one of the descriptor-path contexts.
struct DextioTransfer {
    OSAction *completion;           // ours (CompleteAsyncIO), made once, reused for every transfer
    IOMemoryDescriptor *descriptor; // descriptor path: the app's buffer, retained while in flight
    uint64_t tag;
    bool busy;
};

struct DextioPipe {
    IOUSBHostPipe *pipe;            // NULL when the current alternate setting has no such endpoint
    uint8_t address;
    uint8_t type;
    uint8_t interval;
    uint16_t maxPacketSize;
    // Kept from the first time the endpoint appears to the end of the client: the app may have
    // them mapped, and a memory type must keep naming the same descriptor.
    IOBufferMemoryDescriptor *slots[kDextioSlotsPerPipe];
    DextioTransfer slotTransfers[kDextioSlotsPerPipe];
};

// The reference of a completion action: which transfer it belongs to.
struct DextioTransferReference {
    uint32_t index;
};

constexpr uint32_t kSlotTransferCount = kDextioMaxPipes * kDextioSlotsPerPipe;
static_assert(kSlotTransferCount + kDextioMaxDescriptorTransfers <= kDextioCompletionRingCapacity,
              "every transfer in flight owns a completion ring entry");

constexpr uint32_t PowerOfTwoAtLeast(uint32_t n)
{
    uint32_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

// The tags of the transfers in flight, so that no two share one: the app routes completions by tag.
// Open addressing with linear probing; at least twice as many entries as transfers can be in flight.
constexpr uint32_t kTagSetCapacity = PowerOfTwoAtLeast(2 * (kSlotTransferCount + kDextioMaxDescriptorTransfers));

struct DextioTagSet {
    uint64_t tags[kTagSetCapacity];
    bool used[kTagSetCapacity];

    static uint32_t Home(uint64_t tag)
    {
        return static_cast<uint32_t>((tag * 0x9e3779b97f4a7c15ull) >> 40) & (kTagSetCapacity - 1);
    }
    bool Contains(uint64_t tag) const
    {
        for (uint32_t i = Home(tag); used[i]; i = (i + 1) & (kTagSetCapacity - 1)) {
            if (tags[i] == tag) {
                return true;
            }
        }
        return false;
    }
    void Insert(uint64_t tag)
    {
        uint32_t i = Home(tag);
        while (used[i]) {
            i = (i + 1) & (kTagSetCapacity - 1);
        }
        used[i] = true;
        tags[i] = tag;
    }
    void Remove(uint64_t tag)
    {
        uint32_t i = Home(tag);
        while (used[i] && tags[i] != tag) {
            i = (i + 1) & (kTagSetCapacity - 1);
        }
        if (!used[i]) {
            return;
        }
        // Backward-shift deletion: move later entries of the probe chain into the hole.
        uint32_t hole = i;
        for (uint32_t j = (i + 1) & (kTagSetCapacity - 1); used[j]; j = (j + 1) & (kTagSetCapacity - 1)) {
            uint32_t home = Home(tags[j]);
            bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
            if (movable) {
                tags[hole] = tags[j];
                hole = j;
            }
        }
        used[hole] = false;
    }
};

// Pipes are named by endpoint address; numbers 1..15 OUT are indices 0..14, IN are 15..29.
int PipeIndex(uint64_t address)
{
    if (address > 0xff || (address & 0x70) != 0) {
        return -1;
    }
    uint8_t number = address & 0x0f;
    if (number == 0) {
        return -1;
    }
    return (number - 1) + ((address & 0x80) ? 15 : 0);
}

bool IsIn(uint8_t address)
{
    return (address & 0x80) != 0;
}

} // namespace

struct DextioUserClient_IVars {
    DextioDriver *driver;
    IOUSBHostInterface *interface;
    DextioPipe pipes[kDextioMaxPipes];
    DextioTransfer descriptorTransfers[kDextioMaxDescriptorTransfers];
    uint32_t inFlight;              // transfers of both paths
    DextioTagSet tags;

    // The app's notification action (kDextioSelectorRegisterNotification).
    OSAction *notification;

    // The completion ring (mapped read-only into the app) and the app's consumer page. The dext's
    // own indices and counters live here and are only ever stored into the ring.
    IOBufferMemoryDescriptor *ring;
    IOMemoryMap *ringMap;
    DextioCompletionRing *ringAddress;
    IOBufferMemoryDescriptor *consumerPage;
    IOMemoryMap *consumerMap;
    DextioCompletionConsumer *consumer;
    uint32_t producer;
    uint32_t doorbells;
    uint64_t completions;

    // The submission ring, which the app writes: the dext copies each entry out before it looks at
    // it, and keeps how far it has taken in an ivar.
    IOBufferMemoryDescriptor *submissionRing;
    IOMemoryMap *submissionMap;
    DextioSubmissionRing *submissions;
    uint32_t submissionsTaken;
    uint32_t kicks;

    // Control: data stages of up to kDextioSlotCapacity bytes pass through this buffer (mapped
    // read-only into the app); one request at a time.
    IOBufferMemoryDescriptor *controlBuffer;
    IOMemoryMap *controlMap;
    uint8_t *controlAddress;
    OSAction *controlCompletion;    // ours (CompleteAsyncDeviceRequest)
    OSAction *controlClient;        // the app's action for the request in flight
    IOMemoryDescriptor *controlDescriptor;  // the app's data stage above kDextioSlotCapacity
    bool controlBusy;

    bool stopping;
    IOService *stopProvider;        // retained from Stop until super::Stop has run
    uint32_t pendingCancels;
};

// Indexed by DextioSelector; the superclass checks counts and sizes before calling the function.
static const IOUserClientMethodDispatch sMethods[kDextioSelectorCount] = {
    // kDextioSelectorGetDeviceInfo
    { &DextioUserClient::sGetDeviceInfo, false, 0, 0, kDextioDeviceInfoScalarCount, 0 },
    // kDextioSelectorGetPipes
    { &DextioUserClient::sGetPipes, false, 0, 0, 1, kIOUserClientVariableStructureSize },
    // kDextioSelectorKick
    { &DextioUserClient::sKick, false, 0, 0, 0, 0 },
    // kDextioSelectorSubmitDescriptor: input or output structure, depending on the pipe
    { &DextioUserClient::sSubmitDescriptor, false, kDextioSubmitDescriptorScalarCount,
      kIOUserClientVariableStructureSize, 0, kIOUserClientVariableStructureSize },
    // kDextioSelectorControlIn
    { &DextioUserClient::sControlIn, true, kDextioControlScalarCount, 0, 0, kIOUserClientVariableStructureSize },
    // kDextioSelectorControlOut
    { &DextioUserClient::sControlOut, true, kDextioControlScalarCount, kIOUserClientVariableStructureSize, 0, 0 },
    // kDextioSelectorAbortPipe
    { &DextioUserClient::sAbortPipe, false, 1, 0, 0, 0 },
    // kDextioSelectorClearStall
    { &DextioUserClient::sClearStall, false, 1, 0, 0, 0 },
    // kDextioSelectorSelectAltSetting
    { &DextioUserClient::sSelectAltSetting, false, 1, 0, 0, 0 },
    // kDextioSelectorRegisterNotification
    { &DextioUserClient::sRegisterNotification, true, 0, 0, 0, 0 },
    // kDextioSelectorGetDescriptor
    { &DextioUserClient::sGetDescriptor, false, kDextioGetDescriptorScalarCount, 0, 1,
      kIOUserClientVariableStructureSize },
};

bool DextioUserClient::init()
{
    if (!super::init()) {
        return false;
    }
    ivars = IONewZero(DextioUserClient_IVars, 1);
    return ivars != NULL;
}

void DextioUserClient::free()
{
    if (ivars != NULL) {
        ReleaseResources();
        // Cancelled by now (Stop, or a failed Start): an action retains us until it is cancelled.
        for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
            for (uint32_t s = 0; s < kDextioSlotsPerPipe; s++) {
                OSSafeReleaseNULL(ivars->pipes[i].slotTransfers[s].completion);
            }
        }
        for (uint32_t i = 0; i < kDextioMaxDescriptorTransfers; i++) {
            OSSafeReleaseNULL(ivars->descriptorTransfers[i].completion);
        }
        OSSafeReleaseNULL(ivars->controlCompletion);
        OSSafeReleaseNULL(ivars->notification);
    }
    IOSafeDeleteNULL(ivars, DextioUserClient_IVars, 1);
    super::free();
}

// Memory the dext shares with its client (the rings, the consumer page): made, mapped into the
// dext, and zeroed.
static kern_return_t CreateSharedMemory(uint64_t size, IOBufferMemoryDescriptor **memory, IOMemoryMap **map,
                                        void **address)
{
    kern_return_t ret = IOBufferMemoryDescriptor::Create(kIOMemoryDirectionInOut, size, 0, memory);
    if (ret == kIOReturnSuccess) {
        ret = (*memory)->CreateMapping(0, 0, 0, 0, 0, map);
    }
    if (ret == kIOReturnSuccess) {
        *address = reinterpret_cast<void *>((*map)->GetAddress());
        memset(*address, 0, size);
    }
    return ret;
}

kern_return_t IMPL(DextioUserClient, Start)
{
    kern_return_t ret = Start(provider, SUPERDISPATCH);
    if (ret != kIOReturnSuccess) {
        return ret;
    }

    ivars->driver = OSDynamicCast(DextioDriver, provider);
    if (ivars->driver == NULL || ivars->driver->GetInterface() == NULL) {
        ivars->driver = NULL;
        return kIOReturnNoDevice;
    }
    ivars->driver->retain();
    ivars->interface = ivars->driver->GetInterface();
    ivars->interface->retain();

    void *address = NULL;
    ret = CreateSharedMemory(DEXTIO_COMPLETION_RING_SIZE, &ivars->ring, &ivars->ringMap, &address);
    if (ret == kIOReturnSuccess) {
        ivars->ringAddress = static_cast<DextioCompletionRing *>(address);
        ivars->ringAddress->header.capacity = kDextioCompletionRingCapacity;
        ret = CreateSharedMemory(DEXTIO_COMPLETION_CONSUMER_SIZE, &ivars->consumerPage, &ivars->consumerMap, &address);
    }
    if (ret == kIOReturnSuccess) {
        ivars->consumer = static_cast<DextioCompletionConsumer *>(address);
        ret = CreateSharedMemory(DEXTIO_SUBMISSION_RING_SIZE, &ivars->submissionRing, &ivars->submissionMap, &address);
    }
    if (ret == kIOReturnSuccess) {
        ivars->submissions = static_cast<DextioSubmissionRing *>(address);
        // Data stages that travel by value; larger ones bring their own descriptor.
        ret = ivars->interface->CreateIOBuffer(kIOMemoryDirectionInOut, kDextioSlotCapacity, &ivars->controlBuffer);
    }
    if (ret == kIOReturnSuccess) {
        ret = ivars->controlBuffer->CreateMapping(0, 0, 0, 0, 0, &ivars->controlMap);
    }
    if (ret == kIOReturnSuccess) {
        ivars->controlAddress = reinterpret_cast<uint8_t *>(ivars->controlMap->GetAddress());
        ret = CreateActionControlComplete(0, &ivars->controlCompletion);
    }
    for (uint32_t i = 0; ret == kIOReturnSuccess && i < kDextioMaxDescriptorTransfers; i++) {
        DextioTransfer *transfer = &ivars->descriptorTransfers[i];
        ret = CreateActionTransferComplete(sizeof(DextioTransferReference), &transfer->completion);
        if (ret == kIOReturnSuccess) {
            static_cast<DextioTransferReference *>(transfer->completion->GetReference())->index =
                kSlotTransferCount + i;
        }
    }
    if (ret == kIOReturnSuccess) {
        ret = CopyPipes();
    }
    if (ret != kIOReturnSuccess) {
        // Nothing was submitted yet: there is nothing to drain. The actions go in free(), once
        // their cancellation has released us.
        os_log(OS_LOG_DEFAULT, "dextio: user client Start failed: 0x%x", ret);
        CancelActions(^{
        });
        ReleaseResources();
    }
    return ret;
}

kern_return_t IMPL(DextioUserClient, Stop)
{
    // The rest happens later, from completions and cancel handlers: keep both objects until then.
    retain();
    provider->retain();
    ivars->stopProvider = provider;
    ivars->stopping = true;
    for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
        if (ivars->pipes[i].pipe != NULL) {
            ivars->pipes[i].pipe->Abort(kIOUSBAbortAsynchronous, kIOReturnAborted, NULL);
        }
    }
    if (ivars->controlBusy) {
        ivars->interface->AbortDeviceRequests(kIOUSBAbortAsynchronous, kIOReturnAborted);
    }
    // Aborted work completes on this queue after we return; the last completion calls FinishStop.
    if (ivars->inFlight == 0 && !ivars->controlBusy) {
        FinishStop();
    }
    return kIOReturnSuccess;
}

void DextioUserClient::FinishStop()
{
    uint32_t *pending = &ivars->pendingCancels;
    // Hold one count ourselves so that the handlers cannot finish before every Cancel is issued.
    *pending = 1;
    void (^cancelled)(void) = ^{
        if (--*pending != 0) {
            return;
        }
        IOService *provider = ivars->stopProvider;
        ivars->stopProvider = NULL;
        ReleaseResources();
        Notify(kDextioNotificationStopped);
        OSSafeReleaseNULL(ivars->notification);
        Stop(provider, SUPERDISPATCH);
        provider->release();
        release();
    };
    CancelActions(cancelled);
    cancelled();
}

void DextioUserClient::CancelActions(OSActionCancelHandler handler)
{
    uint32_t *pending = &ivars->pendingCancels;
    auto cancel = [&](OSAction *action) {
        if (action != NULL) {
            (*pending)++;
            action->Cancel(handler);
        }
    };
    for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
        for (uint32_t s = 0; s < kDextioSlotsPerPipe; s++) {
            cancel(ivars->pipes[i].slotTransfers[s].completion);
        }
    }
    for (uint32_t i = 0; i < kDextioMaxDescriptorTransfers; i++) {
        cancel(ivars->descriptorTransfers[i].completion);
    }
    cancel(ivars->controlCompletion);
}

void DextioUserClient::ReleaseResources()
{
    ReleasePipes();
    for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
        for (uint32_t s = 0; s < kDextioSlotsPerPipe; s++) {
            OSSafeReleaseNULL(ivars->pipes[i].slots[s]);
        }
    }
    ivars->ringAddress = NULL;
    OSSafeReleaseNULL(ivars->ringMap);
    OSSafeReleaseNULL(ivars->ring);
    ivars->consumer = NULL;
    OSSafeReleaseNULL(ivars->consumerMap);
    OSSafeReleaseNULL(ivars->consumerPage);
    ivars->submissions = NULL;
    OSSafeReleaseNULL(ivars->submissionMap);
    OSSafeReleaseNULL(ivars->submissionRing);
    ivars->controlAddress = NULL;
    OSSafeReleaseNULL(ivars->controlMap);
    OSSafeReleaseNULL(ivars->controlBuffer);
    OSSafeReleaseNULL(ivars->interface);
    if (ivars->driver != NULL) {
        ivars->driver->UserClientStopped();
    }
    OSSafeReleaseNULL(ivars->driver);
}

kern_return_t DextioUserClient::ExternalMethod(uint64_t selector, IOUserClientMethodArguments *arguments,
                                               const IOUserClientMethodDispatch *, OSObject *, void *)
{
    if (selector >= kDextioSelectorCount) {
        return kIOReturnBadArgument;
    }
    // A call queued behind Stop must not start work that nobody would reap.
    if (ivars->stopping) {
        return kIOReturnAborted;
    }
    return super::ExternalMethod(selector, arguments, &sMethods[selector], this, NULL);
}

kern_return_t DextioUserClient::sGetDeviceInfo(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->GetDeviceInfo(arguments);
}

kern_return_t DextioUserClient::sGetPipes(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->GetPipes(arguments);
}

kern_return_t DextioUserClient::sKick(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->Kick(arguments);
}

kern_return_t DextioUserClient::sSubmitDescriptor(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->SubmitDescriptor(arguments);
}

kern_return_t DextioUserClient::sControlIn(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->Control(arguments, true);
}

kern_return_t DextioUserClient::sControlOut(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->Control(arguments, false);
}

kern_return_t DextioUserClient::sAbortPipe(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->AbortPipe(arguments);
}

kern_return_t DextioUserClient::sClearStall(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->ClearStall(arguments);
}

kern_return_t DextioUserClient::sSelectAltSetting(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->SelectAltSetting(arguments);
}

kern_return_t DextioUserClient::sRegisterNotification(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->RegisterNotification(arguments);
}

kern_return_t DextioUserClient::sGetDescriptor(OSObject *target, void *, IOUserClientMethodArguments *arguments)
{
    return static_cast<DextioUserClient *>(target)->GetDescriptor(arguments);
}

kern_return_t DextioUserClient::GetDeviceInfo(IOUserClientMethodArguments *arguments)
{
    IOUSBHostDevice *device = NULL;
    kern_return_t ret = ivars->interface->CopyDevice(&device);
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    const IOUSBDeviceDescriptor *deviceDescriptor = device->CopyDeviceDescriptor();
    const IOUSBConfigurationDescriptor *configuration = ivars->interface->CopyConfigurationDescriptor();
    const IOUSBInterfaceDescriptor *interfaceDescriptor =
        configuration != NULL ? ivars->interface->GetInterfaceDescriptor(configuration) : NULL;

    if (deviceDescriptor == NULL || interfaceDescriptor == NULL) {
        ret = kIOReturnNoDevice;
    } else {
        uint8_t speed = kDextioSpeedUnknown;
        uint64_t pipeCount = 0;
        for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
            if (ivars->pipes[i].pipe != NULL) {
                pipeCount++;
                ivars->pipes[i].pipe->GetSpeed(&speed);
            }
        }
        // USB descriptors are little-endian, as are all Macs.
        uint64_t *out = arguments->scalarOutput;
        out[kDextioDeviceInfoAbiVersion] = DEXTIO_ABI_VERSION;
        out[kDextioDeviceInfoVendorID] = deviceDescriptor->idVendor;
        out[kDextioDeviceInfoProductID] = deviceDescriptor->idProduct;
        out[kDextioDeviceInfoDeviceRelease] = deviceDescriptor->bcdDevice;
        out[kDextioDeviceInfoInterfaceNumber] = interfaceDescriptor->bInterfaceNumber;
        out[kDextioDeviceInfoAltSetting] = interfaceDescriptor->bAlternateSetting;
        out[kDextioDeviceInfoPipeCount] = pipeCount;
        out[kDextioDeviceInfoSpeed] = speed;
        out[kDextioDeviceInfoConfigurationValue] = configuration->bConfigurationValue;
    }

    if (deviceDescriptor != NULL) {
        IOUSBHostFreeDescriptor(deviceDescriptor);
    }
    if (configuration != NULL) {
        IOUSBHostFreeDescriptor(configuration);
    }
    OSSafeReleaseNULL(device);
    return ret;
}

kern_return_t DextioUserClient::GetPipes(IOUserClientMethodArguments *arguments)
{
    DextioPipeInfo infos[kDextioMaxPipes];
    uint32_t count = 0;
    for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
        const DextioPipe *pipe = &ivars->pipes[i];
        if (pipe->pipe == NULL) {
            continue;
        }
        DextioPipeInfo *info = &infos[count++];
        memset(info, 0, sizeof(*info));
        info->address = pipe->address;
        info->type = pipe->type;
        info->interval = pipe->interval;
        info->maxPacketSize = pipe->maxPacketSize;
        info->slotCount = pipe->slots[0] != NULL ? kDextioSlotsPerPipe : 0;
    }
    size_t size = count * sizeof(DextioPipeInfo);
    if (size > arguments->structureOutputMaximumSize) {
        return kIOReturnBadArgument;
    }
    arguments->structureOutput = OSData::withBytes(infos, size);
    if (arguments->structureOutput == NULL) {
        return kIOReturnNoMemory;
    }
    arguments->scalarOutput[0] = count;
    return kIOReturnSuccess;
}

kern_return_t DextioUserClient::GetDescriptor(IOUserClientMethodArguments *arguments)
{
    const uint64_t *in = arguments->scalarInput;
    uint64_t kind = in[kDextioGetDescriptorKind];
    uint64_t index = in[kDextioGetDescriptorIndex];
    if (arguments->structureOutputDescriptor == NULL && arguments->structureOutputMaximumSize == 0) {
        return kIOReturnBadArgument;
    }

    IOUSBHostDevice *device = NULL;
    kern_return_t ret = ivars->interface->CopyDevice(&device);
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    const IOUSBDeviceDescriptor *deviceDescriptor = device->CopyDeviceDescriptor();
    const IOUSBConfigurationDescriptor *configuration = NULL;
    const void *descriptor = NULL;
    uint64_t length = 0;
    if (deviceDescriptor == NULL) {
        ret = kIOReturnNoDevice;
    } else if (kind == kDextioDescriptorDevice && index == 0) {
        descriptor = deviceDescriptor;
        length = deviceDescriptor->bLength;
    } else if (kind == kDextioDescriptorConfiguration && index < deviceDescriptor->bNumConfigurations) {
        configuration = device->CopyConfigurationDescriptor(static_cast<uint8_t>(index));
        if (configuration == NULL) {
            ret = kIOReturnNotFound;
        } else {
            descriptor = configuration;
            length = configuration->wTotalLength;
        }
    } else {
        ret = kIOReturnBadArgument;
    }

    if (ret == kIOReturnSuccess) {
        // At most what the app's structure holds; it learns the whole length from the scalar.
        IOMemoryDescriptor *output = arguments->structureOutputDescriptor;
        if (output != NULL) {
            IOMemoryMap *map = NULL;
            ret = output->CreateMapping(0, 0, 0, 0, 0, &map);
            if (ret == kIOReturnSuccess) {
                uint64_t size = map->GetLength() < length ? map->GetLength() : length;
                memcpy(reinterpret_cast<void *>(map->GetAddress()), descriptor, size);
                OSSafeReleaseNULL(map);
            }
        } else {
            uint64_t size = arguments->structureOutputMaximumSize < length ? arguments->structureOutputMaximumSize : length;
            arguments->structureOutput = OSData::withBytes(descriptor, size);
            if (arguments->structureOutput == NULL) {
                ret = kIOReturnNoMemory;
            }
        }
        arguments->scalarOutput[0] = length;
    }
    if (configuration != NULL) {
        IOUSBHostFreeDescriptor(configuration);
    }
    if (deviceDescriptor != NULL) {
        IOUSBHostFreeDescriptor(deviceDescriptor);
    }
    OSSafeReleaseNULL(device);
    return ret;
}

kern_return_t DextioUserClient::RegisterNotification(IOUserClientMethodArguments *arguments)
{
    // The kernel holds the app's action only for the duration of this call.
    arguments->completion->retain();
    OSSafeReleaseNULL(ivars->notification);
    ivars->notification = arguments->completion;
    return kIOReturnSuccess;
}

kern_return_t DextioUserClient::CompletionRoom()
{
    if (ivars->notification == NULL) {
        return kIOReturnNotReady;
    }
    // Every transfer in flight owns a ring entry in advance, so a completion never overwrites one
    // the app has not read. The consumer index comes from the app: never trust it further.
    uint32_t consumer = __atomic_load_n(&ivars->consumer->consumerIndex, __ATOMIC_SEQ_CST);
    uint32_t used = ivars->producer - consumer;
    if (used > kDextioCompletionRingCapacity) {
        return kIOReturnBadArgument;
    }
    if (used + ivars->inFlight >= kDextioCompletionRingCapacity) {
        return kIOReturnNoResources;
    }
    return kIOReturnSuccess;
}

void DextioUserClient::Submitted(uint64_t tag)
{
    ivars->tags.Insert(tag);
    ivars->inFlight++;
}

kern_return_t DextioUserClient::Kick(IOUserClientMethodArguments *)
{
    if (ivars->notification == NULL) {
        return kIOReturnNotReady;
    }
    ivars->kicks++;
    __atomic_store_n(&ivars->ringAddress->header.kickCount, ivars->kicks, __ATOMIC_RELAXED);
    TakeSubmissions();
    return kIOReturnSuccess;
}

void DextioUserClient::TakeSubmissions()
{
    if (ivars->stopping || ivars->notification == NULL || ivars->submissions == NULL) {
        return;
    }
    uint32_t producer = __atomic_load_n(&ivars->submissions->producerIndex, __ATOMIC_SEQ_CST);
    uint32_t taken = ivars->submissionsTaken;
    // An index that runs ahead by more than the ring is the app's corruption: take nothing.
    if (producer - taken > kDextioSubmissionRingCapacity) {
        return;
    }
    while (taken != producer) {
        // Room for the entry's completion first, whether it is refused now or completes later;
        // without it the entry waits for a later pass (a corrupt consumer index stops everything).
        if (CompletionRoom() != kIOReturnSuccess) {
            break;
        }
        // Copied out once, before anything looks at it: the app may write the entry meanwhile.
        DextioSubmission entry;
        memcpy(&entry, &ivars->submissions->entries[taken % kDextioSubmissionRingCapacity], sizeof(entry));
        taken++;
        kern_return_t ret = SubmitSlot(&entry);
        if (ret != kIOReturnSuccess) {
            // Refused: it completes at once, with its tag (timestamp 0: it never reached the bus).
            PostCompletion(entry.tag, ret, 0, 0);
        }
    }
    ivars->submissionsTaken = taken;
    __atomic_store_n(&ivars->ringAddress->header.submissionConsumerIndex, taken, __ATOMIC_SEQ_CST);
}

kern_return_t DextioUserClient::SubmitSlot(const void *submission)
{
    // Checked as strictly as a call's arguments: the entry comes from the app.
    const DextioSubmission *entry = static_cast<const DextioSubmission *>(submission);
    int index = PipeIndex(entry->pipe);
    if (index < 0 || ivars->pipes[index].pipe == NULL || ivars->pipes[index].slots[0] == NULL) {
        return kIOReturnBadArgument;
    }
    DextioPipe *pipe = &ivars->pipes[index];
    if (entry->slot >= kDextioSlotsPerPipe || entry->length > kDextioSlotCapacity) {
        return kIOReturnBadArgument;
    }
    if (pipe->type == kIOUSBEndpointTypeInterrupt && entry->timeoutMs != 0) {
        return kIOReturnBadArgument;
    }
    DextioTransfer *transfer = &pipe->slotTransfers[entry->slot];
    if (transfer->busy) {
        return kIOReturnBusy;
    }
    // Its room in the completion ring was checked before it was taken.
    if (ivars->tags.Contains(entry->tag)) {
        return kIOReturnBusy;
    }
    kern_return_t ret = pipe->pipe->AsyncIO(pipe->slots[entry->slot], entry->length, transfer->completion, entry->timeoutMs);
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    transfer->tag = entry->tag;
    transfer->busy = true;
    Submitted(entry->tag);
    return kIOReturnSuccess;
}

kern_return_t DextioUserClient::SubmitDescriptor(IOUserClientMethodArguments *arguments)
{
    const uint64_t *in = arguments->scalarInput;
    int index = PipeIndex(in[kDextioSubmitDescriptorPipe]);
    if (index < 0 || ivars->pipes[index].pipe == NULL || ivars->pipes[index].slots[0] == NULL) {
        return kIOReturnBadArgument;
    }
    DextioPipe *pipe = &ivars->pipes[index];
    uint64_t length = in[kDextioSubmitDescriptorLength];
    uint64_t timeoutMs = in[kDextioSubmitDescriptorTimeoutMs];
    uint64_t tag = in[kDextioSubmitDescriptorTag];
    if (length <= kDextioSlotCapacity || length > kDextioMaxDescriptorLength || timeoutMs > UINT32_MAX) {
        return kIOReturnBadArgument;
    }
    if (pipe->type == kIOUSBEndpointTypeInterrupt && timeoutMs != 0) {
        return kIOReturnBadArgument;
    }

    // The structure must be a descriptor, in the pipe's direction: an IN transfer's buffer is the
    // call's output, an OUT transfer's buffer its input. Anything else is the wrong kind.
    IOMemoryDescriptor *memory = NULL;
    if (IsIn(pipe->address)) {
        if (arguments->structureInput != NULL || arguments->structureInputDescriptor != NULL) {
            return kIOReturnBadArgument;
        }
        memory = arguments->structureOutputDescriptor;
    } else {
        if (arguments->structureOutputDescriptor != NULL || arguments->structureOutputMaximumSize != 0) {
            return kIOReturnBadArgument;
        }
        memory = arguments->structureInputDescriptor;
    }
    uint64_t memoryLength = 0;
    if (memory == NULL || memory->GetLength(&memoryLength) != kIOReturnSuccess || memoryLength != length) {
        return kIOReturnBadArgument;
    }

    DextioTransfer *transfer = NULL;
    for (uint32_t i = 0; i < kDextioMaxDescriptorTransfers && transfer == NULL; i++) {
        if (!ivars->descriptorTransfers[i].busy) {
            transfer = &ivars->descriptorTransfers[i];
        }
    }
    if (transfer == NULL) {
        return kIOReturnNoResources;
    }
    kern_return_t ret = CompletionRoom();
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    if (ivars->tags.Contains(tag)) {
        return kIOReturnBusy;
    }

    ret = pipe->pipe->AsyncIO(memory, static_cast<uint32_t>(length), transfer->completion,
                              static_cast<uint32_t>(timeoutMs));
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    // The kernel drops its reference to the structure descriptor when this call returns; the
    // transfer keeps one until its completion is in the ring.
    memory->retain();
    transfer->descriptor = memory;
    transfer->tag = tag;
    transfer->busy = true;
    Submitted(tag);
    return kIOReturnSuccess;
}

void IMPL(DextioUserClient, TransferComplete)
{
    uint32_t index = static_cast<DextioTransferReference *>(action->GetReference())->index;
    DextioTransfer *transfer = NULL;
    if (index < kSlotTransferCount) {
        transfer = &ivars->pipes[index / kDextioSlotsPerPipe].slotTransfers[index % kDextioSlotsPerPipe];
    } else if (index - kSlotTransferCount < kDextioMaxDescriptorTransfers) {
        transfer = &ivars->descriptorTransfers[index - kSlotTransferCount];
    }
    if (transfer == NULL || !transfer->busy) {
        os_log(OS_LOG_DEFAULT, "dextio: completion for an idle transfer %u", index);
        return;
    }

    OSSafeReleaseNULL(transfer->descriptor);
    transfer->busy = false;
    ivars->tags.Remove(transfer->tag);
    ivars->inFlight--;
    PostCompletion(transfer->tag, status, actualByteCount, completionTimestamp);

    if (ivars->stopping) {
        if (ivars->inFlight == 0 && !ivars->controlBusy) {
            FinishStop();
        }
        return;
    }
    // The dext is running for this connection anyway: take what the app queued meanwhile.
    TakeSubmissions();
}

void DextioUserClient::PostCompletion(uint64_t tag, IOReturn status, uint32_t bytes, uint64_t timestamp)
{
    DextioCompletionRing *ring = ivars->ringAddress;
    uint32_t producer = ivars->producer;
    DextioCompletion *entry = &ring->entries[producer % kDextioCompletionRingCapacity];
    entry->tag = tag;
    entry->status = status;
    entry->bytes = bytes;
    entry->timestamp = timestamp;
    ivars->producer = producer + 1;
    ivars->completions++;
    __atomic_store_n(&ring->header.completionCount, ivars->completions, __ATOMIC_RELAXED);
    __atomic_store_n(&ring->header.producerIndex, ivars->producer, __ATOMIC_SEQ_CST);

    // Ring the doorbell only if the app had drained everything before this entry and is not
    // polling; otherwise it will see the entry itself (abi.h explains why none is lost). Both
    // fields are the app's: whatever it writes there, it only loses its own doorbells.
    if (__atomic_load_n(&ivars->consumer->consumerIndex, __ATOMIC_SEQ_CST) == producer &&
        __atomic_load_n(&ivars->consumer->polling, __ATOMIC_SEQ_CST) == 0) {
        Notify(kDextioNotificationDoorbell);
    }
}

void DextioUserClient::Notify(uint64_t kind)
{
    if (ivars->notification == NULL) {
        return;
    }
    if (kind == kDextioNotificationDoorbell) {
        ivars->doorbells++;
        __atomic_store_n(&ivars->ringAddress->header.doorbellCount, ivars->doorbells, __ATOMIC_RELAXED);
    }
    uint64_t asyncData[kDextioNotificationArgumentCount] = { kind, ivars->producer };
    AsyncCompletion(ivars->notification, kIOReturnSuccess, asyncData, kDextioNotificationArgumentCount);
}

kern_return_t DextioUserClient::Control(IOUserClientMethodArguments *arguments, bool deviceToHost)
{
    const uint64_t *in = arguments->scalarInput;
    uint64_t requestType = in[kDextioControlRequestType];
    uint64_t request = in[kDextioControlRequest];
    uint64_t value = in[kDextioControlValue];
    uint64_t index = in[kDextioControlIndex];
    uint64_t length = in[kDextioControlLength];
    uint64_t timeoutMs = in[kDextioControlTimeoutMs];
    if (requestType > 0xff || request > 0xff || value > 0xffff || index > 0xffff ||
        length > kDextioMaxControlLength || timeoutMs > kDextioControlTimeoutMaxMs) {
        return kIOReturnBadArgument;
    }
    if (((requestType & kIOUSBDeviceRequestDirectionMask) == kIOUSBDeviceRequestDirectionIn) != deviceToHost) {
        return kIOReturnBadArgument;
    }
    if (timeoutMs == 0) {
        timeoutMs = kDextioControlTimeoutDefaultMs;
    }

    // wLength decides the path, as the size decides it for IOKit: up to kDextioSlotCapacity bytes the
    // data stage passes through the control buffer, above it the app's structure descriptor goes to
    // AsyncDeviceRequest as it is. A structure of the other kind, or of the other direction, is
    // refused.
    bool byValue = length <= kDextioSlotCapacity;
    IOMemoryDescriptor *data = ivars->controlBuffer;
    uint64_t dataLength = 0;
    if (deviceToHost) {
        if (arguments->structureInput != NULL || arguments->structureInputDescriptor != NULL) {
            return kIOReturnBadArgument;
        }
        if (byValue) {
            if (arguments->structureOutputDescriptor != NULL || arguments->structureOutputMaximumSize != 0) {
                return kIOReturnBadArgument;
            }
        } else {
            data = arguments->structureOutputDescriptor;
            if (data == NULL || data->GetLength(&dataLength) != kIOReturnSuccess || dataLength < length) {
                return kIOReturnBadArgument;
            }
        }
    } else {
        if (arguments->structureOutputDescriptor != NULL || arguments->structureOutputMaximumSize != 0) {
            return kIOReturnBadArgument;
        }
        if (byValue) {
            size_t size = arguments->structureInput != NULL ? arguments->structureInput->getLength() : 0;
            if (arguments->structureInputDescriptor != NULL || size != length) {
                return kIOReturnBadArgument;
            }
        } else {
            data = arguments->structureInputDescriptor;
            if (arguments->structureInput != NULL || data == NULL || data->GetLength(&dataLength) != kIOReturnSuccess ||
                dataLength != length) {
                return kIOReturnBadArgument;
            }
        }
    }
    if (ivars->controlBusy) {
        return kIOReturnBusy;
    }
    if (!deviceToHost && byValue && length != 0) {
        memcpy(ivars->controlAddress, arguments->structureInput->getBytesNoCopy(), length);
    }

    kern_return_t ret = ivars->interface->AsyncDeviceRequest(
        static_cast<uint8_t>(requestType), static_cast<uint8_t>(request), static_cast<uint16_t>(value),
        static_cast<uint16_t>(index), static_cast<uint16_t>(length), length != 0 ? data : NULL,
        ivars->controlCompletion, static_cast<uint32_t>(timeoutMs));
    if (ret != kIOReturnSuccess) {
        return ret;
    }
    // The kernel drops its references to the action and the descriptor when this call returns.
    arguments->completion->retain();
    ivars->controlClient = arguments->completion;
    if (!byValue) {
        data->retain();
        ivars->controlDescriptor = data;
    }
    ivars->controlBusy = true;
    return kIOReturnSuccess;
}

void IMPL(DextioUserClient, ControlComplete)
{
    if (action != ivars->controlCompletion || !ivars->controlBusy) {
        os_log(OS_LOG_DEFAULT, "dextio: control completion without a request");
        return;
    }
    OSAction *client = ivars->controlClient;
    ivars->controlClient = NULL;
    OSSafeReleaseNULL(ivars->controlDescriptor);
    ivars->controlBusy = false;
    // An IN data stage of up to kDextioSlotCapacity bytes is in the control buffer, which the app
    // reads before it sends its next request.
    uint64_t asyncData[kDextioControlCompletionArgumentCount] = { bytesTransferred };
    AsyncCompletion(client, status, asyncData, kDextioControlCompletionArgumentCount);
    OSSafeReleaseNULL(client);

    if (ivars->stopping && ivars->inFlight == 0) {
        FinishStop();
    }
}

kern_return_t DextioUserClient::AbortPipe(IOUserClientMethodArguments *arguments)
{
    int index = PipeIndex(arguments->scalarInput[0]);
    if (index < 0 || ivars->pipes[index].pipe == NULL) {
        return kIOReturnBadArgument;
    }
    // Asynchronous: the aborted transfers complete on this queue, after this call returns.
    return ivars->pipes[index].pipe->Abort(kIOUSBAbortAsynchronous, kIOReturnAborted, NULL);
}

kern_return_t DextioUserClient::ClearStall(IOUserClientMethodArguments *arguments)
{
    int index = PipeIndex(arguments->scalarInput[0]);
    if (index < 0 || ivars->pipes[index].pipe == NULL) {
        return kIOReturnBadArgument;
    }
    return ivars->pipes[index].pipe->ClearStall(true);
}

kern_return_t DextioUserClient::SelectAltSetting(IOUserClientMethodArguments *arguments)
{
    uint64_t alternateSetting = arguments->scalarInput[0];
    if (alternateSetting > 0xff) {
        return kIOReturnBadArgument;
    }
    // The pipes of the old setting go away with their transfers: the app aborts them first.
    if (ivars->inFlight != 0) {
        return kIOReturnBusy;
    }
    ReleasePipes();
    kern_return_t ret = ivars->interface->SelectAlternateSetting(static_cast<uint8_t>(alternateSetting));
    kern_return_t copied = CopyPipes();
    return ret != kIOReturnSuccess ? ret : copied;
}

kern_return_t DextioUserClient::CopyPipes()
{
    const IOUSBConfigurationDescriptor *configuration = ivars->interface->CopyConfigurationDescriptor();
    if (configuration == NULL) {
        return kIOReturnNoDevice;
    }
    const IOUSBInterfaceDescriptor *interfaceDescriptor = ivars->interface->GetInterfaceDescriptor(configuration);
    kern_return_t ret = interfaceDescriptor != NULL ? kIOReturnSuccess : kIOReturnNoDevice;
    const IOUSBEndpointDescriptor *endpoint = NULL;
    while (ret == kIOReturnSuccess &&
           (endpoint = IOUSBGetNextEndpointDescriptor(configuration, interfaceDescriptor,
                                                      reinterpret_cast<const IOUSBDescriptorHeader *>(endpoint))) != NULL) {
        uint8_t address = IOUSBGetEndpointAddress(endpoint);
        int index = PipeIndex(address);
        if (index < 0) {
            continue;
        }
        DextioPipe *pipe = &ivars->pipes[index];
        pipe->address = address;
        pipe->type = IOUSBGetEndpointType(endpoint);
        pipe->interval = endpoint->bInterval;
        ret = ivars->interface->CopyPipe(address, &pipe->pipe);
        if (ret != kIOReturnSuccess) {
            break;
        }
        uint8_t speed = kUSBHostConnectionSpeedHigh;
        pipe->pipe->GetSpeed(&speed);
        pipe->maxPacketSize = IOUSBGetEndpointMaxPacketSize(speed, endpoint);
        // Isochronous pipes are listed but have no slots: the dext does not drive them.
        if ((pipe->type == kIOUSBEndpointTypeBulk || pipe->type == kIOUSBEndpointTypeInterrupt)) {
            ret = PrepareSlots(address);
        }
    }
    IOUSBHostFreeDescriptor(configuration);
    return ret;
}

void DextioUserClient::ReleasePipes()
{
    for (uint32_t i = 0; i < kDextioMaxPipes; i++) {
        OSSafeReleaseNULL(ivars->pipes[i].pipe);
    }
}

kern_return_t DextioUserClient::PrepareSlots(uint8_t address)
{
    int index = PipeIndex(address);
    DextioPipe *pipe = &ivars->pipes[index];
    for (uint32_t s = 0; s < kDextioSlotsPerPipe; s++) {
        if (pipe->slots[s] != NULL) {
            continue;
        }
        kern_return_t ret = ivars->interface->CreateIOBuffer(IsIn(address) ? kIOMemoryDirectionIn : kIOMemoryDirectionOut,
                                                             kDextioSlotCapacity, &pipe->slots[s]);
        if (ret == kIOReturnSuccess && pipe->slotTransfers[s].completion == NULL) {
            ret = CreateActionTransferComplete(sizeof(DextioTransferReference), &pipe->slotTransfers[s].completion);
            if (ret == kIOReturnSuccess) {
                static_cast<DextioTransferReference *>(pipe->slotTransfers[s].completion->GetReference())->index =
                    static_cast<uint32_t>(index) * kDextioSlotsPerPipe + s;
            }
        }
        if (ret != kIOReturnSuccess) {
            return ret;
        }
    }
    return kIOReturnSuccess;
}

kern_return_t IMPL(DextioUserClient, CopyClientMemoryForType)
{
    IOMemoryDescriptor *descriptor = NULL;
    // What the app may write: its slots (IN ones too, harmlessly: the dext never reads them), its
    // consumer index and its submissions. The ring and the control buffer are the dext's, so they are read-only.
    uint64_t memoryOptions = 0;
    if (type == DextioMemoryTypeCompletionRing()) {
        descriptor = ivars->ring;
        memoryOptions = kIOUserClientMemoryReadOnly;
    } else if (type == DextioMemoryTypeCompletionConsumer()) {
        descriptor = ivars->consumerPage;
    } else if (type == DextioMemoryTypeSubmissionRing()) {
        descriptor = ivars->submissionRing;
    } else if (type == DextioMemoryTypeControl()) {
        descriptor = ivars->controlBuffer;
        memoryOptions = kIOUserClientMemoryReadOnly;
    } else if (type <= UINT32_MAX && DextioMemoryTypeKind(type) == kDextioMemoryKindSlot) {
        int index = PipeIndex(DextioMemoryTypePipe(type));
        uint8_t slot = DextioMemoryTypeSlotIndex(type);
        if (index >= 0 && slot < kDextioSlotsPerPipe) {
            descriptor = ivars->pipes[index].slots[slot];
        }
    }
    if (descriptor == NULL) {
        return kIOReturnBadArgument;
    }
    descriptor->retain();
    *memory = descriptor;
    *options = memoryOptions;
    return kIOReturnSuccess;
}
