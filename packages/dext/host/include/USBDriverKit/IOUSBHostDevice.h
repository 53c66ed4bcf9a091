/* Host runtime: IOUSBHostDevice (the subset the dext uses). */
#ifndef _USBDRIVERKIT_IOUSBHOSTDEVICE_H
#define _USBDRIVERKIT_IOUSBHOSTDEVICE_H

#include <DriverKit/IOService.h>
#include <USBDriverKit/USBDriverKitDefs.h>

struct HostUSBDeviceState;

class IOUSBHostDevice : public IOService {
public:
    virtual const IOUSBDeviceDescriptor *CopyDeviceDescriptor();

    /* Host only. */
    static IOUSBHostDevice *HostCreate(HostUSBDeviceState *state);
    HostUSBDeviceState *HostDeviceState() const { return device; }

protected:
    void free() override;

private:
    HostUSBDeviceState *device = nullptr;
};

#endif
