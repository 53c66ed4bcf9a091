/* Host runtime: IOUSBHostDevice (the subset the dext uses). Control requests of an interface driver
 * complete through an OSAction of type IOUSBHostDevice::CompleteAsyncDeviceRequest. */
#ifndef _USBDRIVERKIT_IOUSBHOSTDEVICE_H
#define _USBDRIVERKIT_IOUSBHOSTDEVICE_H

#include <DriverKit/IOService.h>
#include <DriverKit/OSAction.h>
#include <USBDriverKit/USBDriverKitDefs.h>

struct HostUSBDeviceState;

/* Apple's message ID (USBDriverKit/IOUSBHostDevice.h). */
#define IOUSBHostDevice_CompleteAsyncDeviceRequest_ID 0xc489759689d7d751ULL
#define IOUSBHostDevice_CompleteAsyncDeviceRequest_Args \
    OSAction *action, IOReturn status, uint32_t bytesTransferred

class IOUSBHostDevice : public IOService {
public:
    virtual const IOUSBDeviceDescriptor *CopyDeviceDescriptor();
    /* Configuration descriptor number index (not bConfigurationValue), whole; NULL if none. */
    virtual const IOUSBConfigurationDescriptor *CopyConfigurationDescriptor(uint8_t index);

    struct CompleteAsyncDeviceRequest_Msg {
        OSAction *action;
        IOReturn status;
        uint32_t bytesTransferred;
    };
    template <class T>
    static kern_return_t CompleteAsyncDeviceRequest_Invoke(const IORPC rpc, OSMetaClassBase *target,
                                                           void (T::*impl)(IOUSBHostDevice_CompleteAsyncDeviceRequest_Args))
    {
        if (rpc.typeMsgid != IOUSBHostDevice_CompleteAsyncDeviceRequest_ID) {
            return kIOReturnBadArgument;
        }
        auto *m = static_cast<CompleteAsyncDeviceRequest_Msg *>(rpc.arguments);
        (static_cast<T *>(target)->*impl)(m->action, m->status, m->bytesTransferred);
        return kIOReturnSuccess;
    }

    /* Host only. */
    static IOUSBHostDevice *HostCreate(HostUSBDeviceState *state);
    HostUSBDeviceState *HostDeviceState() const { return device; }

protected:
    void free() override;

private:
    HostUSBDeviceState *device = nullptr;
};

#endif
