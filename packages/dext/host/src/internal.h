// Host runtime: state shared between the host runtime's source files.
#pragma once

#include <DriverKit/DriverKit.h>
#include <IOKit/IOKitLib.h>
#include <USBDriverKit/IOUSBHostDevice.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "gadget.h"
#include "live.h"

// The personality of Info.plist, as the host matches it (dext/Info.plist is the original).
struct HostPersonality {
    const char *userClass;            // IOUserClass
    const char *userClientClass;      // UserClientProperties / IOUserClass
    uint16_t idVendor;
    uint16_t idProduct;
    uint8_t bInterfaceNumber;
    uint8_t bConfigurationValue;
};
extern const HostPersonality gHostPersonality;

struct HostServiceState {
    IOService *provider = nullptr;    // retained
    const HostPersonality *personality = nullptr;
    std::mutex mutex;
    std::condition_variable changed;
    bool registered = false;
    bool terminated = false;          // no new calls from clients
    bool stopped = false;             // IOService::Stop_Impl reached (super::Stop)
};

// Run Stop on the service's queue and wait until it reaches IOService::Stop_Impl.
void HostTerminateService(IOService *service, IOService *provider);

struct HostActionState {
    OSObject *target = nullptr;       // retained
    uint64_t targetmsgid = 0;
    uint64_t msgid = 0;
    void *reference = nullptr;
    size_t referenceSize = 0;
    std::atomic<bool> cancelled{false};
};

// The reference of the OSAction the kernel makes for an async external method call.
struct HostAsyncReference {
    mach_port_t wakePort;
    uint32_t referenceCount;
    uint64_t reference[kOSAsyncRef64Count];
};

struct HostUSBDeviceState {
    VirtualGadgetZero *gadget;
    std::atomic<int32_t> refs{1};
    std::atomic<bool> attached{true};
    std::atomic<uint32_t> generation{0};  // bumped by SelectAlternateSetting: older pipes are stale
    std::atomic<IOService *> openedBy{nullptr};
    IOUSBHostDevice *device = nullptr;    // not retained: the world owns it
    void Retain() { refs++; }
    void Release()
    {
        if (--refs == 0) {
            delete this;
        }
    }
};

struct HostPipeState {
    HostUSBDeviceState *device;       // retained
    uint8_t address;
    uint8_t type;
    uint16_t maxPacketSize;
    uint32_t generation;
};

// Deliver IOUserClient::AsyncCompletion to the client's notification port.
void HostDeliverAsyncCompletion(const HostAsyncReference *reference, IOReturn status, const uint64_t *data,
                                uint32_t count);

uint64_t HostTimestamp();
