/*
 * services(): one entry per matched DextioDriver service with the ids of the device it drives, read
 * from the IORegistry without opening a connection, so that a device another client holds (the
 * connection is exclusive) can still be listed, as busy.
 */
#include "services.h"

#include <string>
#include <vector>

#include <IOKit/IOKitLib.h>

#include "errors.h"

namespace dextio {

namespace {

struct ServiceInfo {
    double vendorId;
    double productId;
    double deviceRelease;
    double interfaceNumber;
    std::string manufacturerName;
    std::string productName;
    std::string serialNumber;
};

/* A numeric property of the service or, up the service plane, of its providers: the driver holds
 * its personality's match keys, the IOUSBHostInterface and the IOUSBHostDevice their descriptors'
 * fields (bcdDevice only the latter two). */
bool RegistryNumber(io_service_t service, CFStringRef key, int64_t max, double *value)
{
    CFTypeRef property = IORegistryEntrySearchCFProperty(service, kIOServicePlane, key, kCFAllocatorDefault,
                                                         kIORegistryIterateRecursively | kIORegistryIterateParents);
    if (property == nullptr) return false;
    int64_t number = -1;
    bool ok = CFGetTypeID(property) == CFNumberGetTypeID() &&
              CFNumberGetValue(static_cast<CFNumberRef>(property), kCFNumberSInt64Type, &number) && number >= 0 &&
              number <= max;
    CFRelease(property);
    if (ok) *value = (double)number;
    return ok;
}

/* A string the device publishes (IOUSBHostDevice's "USB Vendor Name" and the like, from its
 * string descriptors); empty when it has none. */
std::string RegistryString(io_service_t service, CFStringRef key)
{
    CFTypeRef property = IORegistryEntrySearchCFProperty(service, kIOServicePlane, key, kCFAllocatorDefault,
                                                         kIORegistryIterateRecursively | kIORegistryIterateParents);
    if (property == nullptr) return "";
    char text[256] = "";
    bool ok = CFGetTypeID(property) == CFStringGetTypeID() &&
              CFStringGetCString(static_cast<CFStringRef>(property), text, sizeof text, kCFStringEncodingUTF8);
    CFRelease(property);
    return ok ? text : "";
}

} // namespace

Napi::Value Services(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    io_iterator_t iterator = IO_OBJECT_NULL;
    kern_return_t kr =
        IOServiceGetMatchingServices(kIOMainPortDefault, IOServiceNameMatching("DextioDriver"), &iterator);
    if (kr != kIOReturnSuccess) ThrowIOReturn(env, "services: IOServiceGetMatchingServices", kr);
    std::vector<ServiceInfo> services;
    for (io_service_t service; (service = IOIteratorNext(iterator)) != IO_OBJECT_NULL;) {
        ServiceInfo found{};
        bool complete = RegistryNumber(service, CFSTR("idVendor"), 0xffff, &found.vendorId) &&
                        RegistryNumber(service, CFSTR("idProduct"), 0xffff, &found.productId) &&
                        RegistryNumber(service, CFSTR("bcdDevice"), 0xffff, &found.deviceRelease) &&
                        RegistryNumber(service, CFSTR("bInterfaceNumber"), 0xff, &found.interfaceNumber);
        if (complete) {
            found.manufacturerName = RegistryString(service, CFSTR("USB Vendor Name"));
            found.productName = RegistryString(service, CFSTR("USB Product Name"));
            found.serialNumber = RegistryString(service, CFSTR("USB Serial Number"));
        }
        IOObjectRelease(service);
        /* A service without them has lost its device meanwhile: it is going away, not listed. */
        if (complete) services.push_back(found);
    }
    IOObjectRelease(iterator);

    Napi::Array result = Napi::Array::New(env, services.size());
    for (size_t i = 0; i < services.size(); i++) {
        Napi::Object entry = Napi::Object::New(env);
        entry.Set("vendorId", services[i].vendorId);
        entry.Set("productId", services[i].productId);
        entry.Set("deviceRelease", services[i].deviceRelease);
        entry.Set("interfaceNumber", services[i].interfaceNumber);
        if (!services[i].manufacturerName.empty()) entry.Set("manufacturerName", services[i].manufacturerName);
        if (!services[i].productName.empty()) entry.Set("productName", services[i].productName);
        if (!services[i].serialNumber.empty()) entry.Set("serialNumber", services[i].serialNumber);
        result.Set((uint32_t)i, entry);
    }
    return result;
}

} // namespace dextio
