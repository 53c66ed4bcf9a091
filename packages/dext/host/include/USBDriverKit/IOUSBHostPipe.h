/* Host runtime: IOUSBHostPipe. AsyncIO completions are delivered through an OSAction of type
 * IOUSBHostPipe::CompleteAsyncIO on the action target's queue. */
#ifndef _USBDRIVERKIT_IOUSBHOSTPIPE_H
#define _USBDRIVERKIT_IOUSBHOSTPIPE_H

#include <DriverKit/OSAction.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOService.h>
#include <USBDriverKit/USBDriverKitDefs.h>

/* Apple's message IDs (USBDriverKit/IOUSBHostPipe.h). */
#define IOUSBHostPipe_CompleteAsyncIO_ID 0xc320a3eea932c04aULL
#define IOUSBHostPipe_AsyncIO_ID 0xe566bead3d13d7e0ULL
#define IOUSBHostPipe_CompleteAsyncIO_Args \
    OSAction *action, IOReturn status, uint32_t actualByteCount, uint64_t completionTimestamp

struct HostPipeState;

class IOUSBHostPipe : public OSObject {
public:
    kern_return_t AsyncIO(IOMemoryDescriptor *dataBuffer, uint32_t dataBufferLength, OSAction *completion,
                          uint32_t completionTimeoutMs, OSDispatchMethod supermethod = NULL);
    kern_return_t Abort(IOOptionBits options, kern_return_t withError, IOService *forClient,
                        OSDispatchMethod supermethod = NULL);
    kern_return_t ClearStall(bool withRequest, OSDispatchMethod supermethod = NULL);
    kern_return_t GetSpeed(uint8_t *speed, OSDispatchMethod supermethod = NULL) const;

    struct CompleteAsyncIO_Msg {
        OSAction *action;
        IOReturn status;
        uint32_t actualByteCount;
        uint64_t completionTimestamp;
    };
    template <class T>
    static kern_return_t CompleteAsyncIO_Invoke(const IORPC rpc, OSMetaClassBase *target,
                                                void (T::*impl)(IOUSBHostPipe_CompleteAsyncIO_Args))
    {
        if (rpc.typeMsgid != IOUSBHostPipe_CompleteAsyncIO_ID) {
            return kIOReturnBadArgument;
        }
        auto *m = static_cast<CompleteAsyncIO_Msg *>(rpc.arguments);
        (static_cast<T *>(target)->*impl)(m->action, m->status, m->actualByteCount, m->completionTimestamp);
        return kIOReturnSuccess;
    }

    /* Host only. */
    static IOUSBHostPipe *HostCreate(HostPipeState *state);
    HostPipeState *HostState() const { return state; }

protected:
    void free() override;

private:
    HostPipeState *state = nullptr;
};

#endif
