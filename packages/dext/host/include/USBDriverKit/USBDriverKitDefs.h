/* Host runtime: descriptor lifetime helpers. */
#ifndef _USBDRIVERKIT_USBDRIVERKITDEFS_H
#define _USBDRIVERKIT_USBDRIVERKITDEFS_H

#include <USBDriverKit/AppleUSBDefinitions.h>

/* Descriptors returned by Copy*Descriptor are owned by the caller and freed with this. */
void IOUSBHostFreeDescriptor(const void *descriptor);

enum {
    kIOUSBAbortAsynchronous = 0,
    kIOUSBAbortSynchronous = 1,
};

#endif
