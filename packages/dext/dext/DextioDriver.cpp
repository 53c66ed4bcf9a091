//
// DextioDriver: the service matched on the USB interface. It keeps the interface open for the life
// of the service and hands out one DextioUserClient at a time: the client owns the pipes' slots and
// aborts their transfers, and two processes driving the same pipes would only confuse each other.
//

#include <os/log.h>

#include <DriverKit/IOLib.h>
#include <DriverKit/IOUserClient.h>
#include <USBDriverKit/IOUSBHostInterface.h>

#include "DextioDriver.h"

struct DextioDriver_IVars {
    IOUSBHostInterface *interface;
    bool userClientOpen;  // touched from the client's queue too: accessed atomically
};

bool DextioDriver::init()
{
    if (!super::init()) {
        return false;
    }
    ivars = IONewZero(DextioDriver_IVars, 1);
    return ivars != NULL;
}

void DextioDriver::free()
{
    if (ivars != NULL) {
        OSSafeReleaseNULL(ivars->interface);
    }
    IOSafeDeleteNULL(ivars, DextioDriver_IVars, 1);
    super::free();
}

kern_return_t IMPL(DextioDriver, Start)
{
    kern_return_t ret = Start(provider, SUPERDISPATCH);
    if (ret != kIOReturnSuccess) {
        return ret;
    }

    ivars->interface = OSDynamicCast(IOUSBHostInterface, provider);
    if (ivars->interface == NULL) {
        return kIOReturnNoDevice;
    }
    ivars->interface->retain();

    ret = ivars->interface->Open(this, 0, NULL);
    if (ret != kIOReturnSuccess) {
        os_log(OS_LOG_DEFAULT, "dextio: Open of the interface failed: 0x%x", ret);
        OSSafeReleaseNULL(ivars->interface);
        return ret;
    }

    // Make the service visible to IOServiceGetMatchingServices so that apps can open it.
    return RegisterService();
}

kern_return_t IMPL(DextioDriver, Stop)
{
    // The kernel stops our user clients (our children) before us, so nobody uses the interface now.
    if (ivars->interface != NULL) {
        ivars->interface->Close(this, 0);
        OSSafeReleaseNULL(ivars->interface);
    }
    return Stop(provider, SUPERDISPATCH);
}

kern_return_t IMPL(DextioDriver, NewUserClient)
{
    if (type != 0) {
        return kIOReturnBadArgument;
    }
    if (__atomic_exchange_n(&ivars->userClientOpen, true, __ATOMIC_SEQ_CST)) {
        return kIOReturnExclusiveAccess;
    }

    IOService *client = NULL;
    kern_return_t ret = Create(this, "UserClientProperties", &client);
    if (ret != kIOReturnSuccess) {
        __atomic_store_n(&ivars->userClientOpen, false, __ATOMIC_SEQ_CST);
        return ret;
    }
    *userClient = OSDynamicCast(IOUserClient, client);
    if (*userClient == NULL) {
        OSSafeReleaseNULL(client);
        __atomic_store_n(&ivars->userClientOpen, false, __ATOMIC_SEQ_CST);
        return kIOReturnError;
    }
    return kIOReturnSuccess;
}

IOUSBHostInterface *DextioDriver::GetInterface()
{
    return ivars->interface;
}

void DextioDriver::UserClientStopped()
{
    __atomic_store_n(&ivars->userClientOpen, false, __ATOMIC_SEQ_CST);
}
