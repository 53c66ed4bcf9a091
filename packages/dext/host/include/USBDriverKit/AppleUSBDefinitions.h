/* Host runtime: USB descriptor layouts and constants with USBDriverKit's names. */
#ifndef _USBDRIVERKIT_APPLEUSBDEFINITIONS_H
#define _USBDRIVERKIT_APPLEUSBDEFINITIONS_H

#include <stdint.h>

struct IOUSBDescriptorHeader {
    uint8_t bLength;
    uint8_t bDescriptorType;
} __attribute__((packed));
typedef struct IOUSBDescriptorHeader IOUSBDescriptorHeader;
typedef struct IOUSBDescriptorHeader IOUSBDescriptor;

struct IOUSBDeviceDescriptor {
    uint8_t bLength;
    uint8_t bDescriptorType;
    uint16_t bcdUSB;
    uint8_t bDeviceClass;
    uint8_t bDeviceSubClass;
    uint8_t bDeviceProtocol;
    uint8_t bMaxPacketSize0;
    uint16_t idVendor;
    uint16_t idProduct;
    uint16_t bcdDevice;
    uint8_t iManufacturer;
    uint8_t iProduct;
    uint8_t iSerialNumber;
    uint8_t bNumConfigurations;
} __attribute__((packed));
typedef struct IOUSBDeviceDescriptor IOUSBDeviceDescriptor;

struct IOUSBConfigurationDescriptor {
    uint8_t bLength;
    uint8_t bDescriptorType;
    uint16_t wTotalLength;
    uint8_t bNumInterfaces;
    uint8_t bConfigurationValue;
    uint8_t iConfiguration;
    uint8_t bmAttributes;
    uint8_t MaxPower;
} __attribute__((packed));
typedef struct IOUSBConfigurationDescriptor IOUSBConfigurationDescriptor;

struct IOUSBInterfaceDescriptor {
    uint8_t bLength;
    uint8_t bDescriptorType;
    uint8_t bInterfaceNumber;
    uint8_t bAlternateSetting;
    uint8_t bNumEndpoints;
    uint8_t bInterfaceClass;
    uint8_t bInterfaceSubClass;
    uint8_t bInterfaceProtocol;
    uint8_t iInterface;
} __attribute__((packed));
typedef struct IOUSBInterfaceDescriptor IOUSBInterfaceDescriptor;

struct IOUSBEndpointDescriptor {
    uint8_t bLength;
    uint8_t bDescriptorType;
    uint8_t bEndpointAddress;
    uint8_t bmAttributes;
    uint16_t wMaxPacketSize;
    uint8_t bInterval;
} __attribute__((packed));
typedef struct IOUSBEndpointDescriptor IOUSBEndpointDescriptor;

enum {
    kIOUSBDescriptorTypeDevice = 1,
    kIOUSBDescriptorTypeConfiguration = 2,
    kIOUSBDescriptorTypeString = 3,
    kIOUSBDescriptorTypeInterface = 4,
    kIOUSBDescriptorTypeEndpoint = 5,
};

enum {
    kIOUSBEndpointDescriptorNumber = 0x0f,
    kIOUSBEndpointDescriptorEndpointAddressMask = 0x8f,
    kIOUSBEndpointDescriptorDirection = 0x80,
    kIOUSBEndpointDescriptorDirectionIn = 0x80,
    kIOUSBEndpointDescriptorDirectionOut = 0x00,
    kIOUSBEndpointDescriptorTransferType = 0x03,
    kIOUSBEndpointDescriptorPacketSize = 0x07ff,
};

typedef enum tIOUSBEndpointType {
    kIOUSBEndpointTypeControl = 0,
    kIOUSBEndpointTypeIsochronous = 1,
    kIOUSBEndpointTypeBulk = 2,
    kIOUSBEndpointTypeInterrupt = 3,
} tIOUSBEndpointType;

typedef enum tIOUSBEndpointDirection {
    kIOUSBEndpointDirectionOut = 0,
    kIOUSBEndpointDirectionIn = 1,
    kIOUSBEndpointDirectionUnknown = 2,
} tIOUSBEndpointDirection;

enum {
    kIOUSBDeviceRequestDirectionMask = 0x80,
    kIOUSBDeviceRequestDirectionIn = 0x80,
    kIOUSBDeviceRequestDirectionOut = 0x00,
};

/* tInternalUSBHostConnectionSpeed (IOUSBHostFamilyDefinitions.h), as IOUSBHostPipe::GetSpeed reports it. */
enum tInternalUSBHostConnectionSpeed {
    kUSBHostConnectionSpeedLow = 0,
    kUSBHostConnectionSpeedFull = 1,
    kUSBHostConnectionSpeedHigh = 2,
    kUSBHostConnectionSpeedSuper = 3,
    kUSBHostConnectionSpeedSuperPlus = 4,
    kUSBHostConnectionSpeedSuperPlusBy2 = 5,
    kUSBHostConnectionSpeedCount = 6,
};

#endif
