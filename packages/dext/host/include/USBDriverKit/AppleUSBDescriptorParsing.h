/* Host runtime: the descriptor walking helpers of USBDriverKit. */
#ifndef _USBDRIVERKIT_APPLEUSBDESCRIPTORPARSING_H
#define _USBDRIVERKIT_APPLEUSBDESCRIPTORPARSING_H

#include <USBDriverKit/AppleUSBDefinitions.h>

#ifdef __cplusplus
extern "C" {
#endif

const IOUSBDescriptorHeader *IOUSBGetNextDescriptor(const IOUSBConfigurationDescriptor *configurationDescriptor,
                                                    const IOUSBDescriptorHeader *currentDescriptor);
const IOUSBInterfaceDescriptor *IOUSBGetNextInterfaceDescriptor(
    const IOUSBConfigurationDescriptor *configurationDescriptor, const IOUSBDescriptorHeader *currentDescriptor);
const IOUSBEndpointDescriptor *IOUSBGetNextEndpointDescriptor(
    const IOUSBConfigurationDescriptor *configurationDescriptor,
    const IOUSBInterfaceDescriptor *interfaceDescriptor, const IOUSBDescriptorHeader *currentDescriptor);
uint8_t IOUSBGetEndpointAddress(const IOUSBEndpointDescriptor *descriptor);
uint8_t IOUSBGetEndpointType(const IOUSBEndpointDescriptor *descriptor);
uint16_t IOUSBGetEndpointMaxPacketSize(uint32_t usbDeviceSpeed, const IOUSBEndpointDescriptor *descriptor);

#ifdef __cplusplus
}
#endif

#endif
