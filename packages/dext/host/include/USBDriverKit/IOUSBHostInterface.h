/* Host runtime: IOUSBHostInterface (the subset the dext uses). */
#ifndef _USBDRIVERKIT_IOUSBHOSTINTERFACE_H
#define _USBDRIVERKIT_IOUSBHOSTINTERFACE_H

#include <DriverKit/IOService.h>
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <USBDriverKit/IOUSBHostPipe.h>
#include <USBDriverKit/IOUSBHostDevice.h>
#include <USBDriverKit/AppleUSBDescriptorParsing.h>

struct HostUSBDeviceState;

class IOUSBHostInterface : public IOService {
public:
    kern_return_t Open(IOService *forClient, IOOptionBits options, uint8_t *arg,
                       OSDispatchMethod supermethod = NULL);
    kern_return_t Close(IOService *forClient, IOOptionBits options, OSDispatchMethod supermethod = NULL);
    kern_return_t CopyPipe(uint8_t address, IOUSBHostPipe **pipe, OSDispatchMethod supermethod = NULL);
    kern_return_t SelectAlternateSetting(uint8_t bAlternateSetting, OSDispatchMethod supermethod = NULL);
    kern_return_t CopyDevice(IOUSBHostDevice **device, OSDispatchMethod supermethod = NULL);

    virtual const IOUSBConfigurationDescriptor *CopyConfigurationDescriptor();
    virtual const IOUSBInterfaceDescriptor *GetInterfaceDescriptor(
        const IOUSBConfigurationDescriptor *configurationDescriptor);
    virtual kern_return_t CreateIOBuffer(IOOptionBits options, uint64_t capacity,
                                         IOBufferMemoryDescriptor **buffer);
    virtual kern_return_t DeviceRequest(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
                                        uint16_t wIndex, uint16_t wLength, IOMemoryDescriptor *dataBuffer,
                                        uint16_t *bytesTransferred, uint32_t completionTimeoutMs);
    /* completion is of type IOUSBHostDevice::CompleteAsyncDeviceRequest; a timeout of 0 never ends. */
    virtual kern_return_t AsyncDeviceRequest(uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
                                             uint16_t wIndex, uint16_t wLength, IOMemoryDescriptor *dataBuffer,
                                             OSAction *completion, uint32_t completionTimeoutMs);
    virtual kern_return_t AbortDeviceRequests(IOOptionBits options, IOReturn withError);

    /* Host only. */
    static IOUSBHostInterface *HostCreate(HostUSBDeviceState *device, uint8_t interfaceNumber);
    HostUSBDeviceState *HostDeviceState() const { return device; }
    uint8_t HostInterfaceNumber() const { return interfaceNumber; }

protected:
    void free() override;

private:
    HostUSBDeviceState *device = nullptr;
    uint8_t interfaceNumber = 0;
};

#endif
