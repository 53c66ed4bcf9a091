/*
 * Host runtime: the user-side IOKit.framework calls a client of the dext makes (IOKitLib.h), with
 * Apple's names and signatures. The "kernel" behind them is the host runtime: the dext runs
 * in-process on its own dispatch queues, over the virtual gadget zero. Callable from any thread.
 * Plain C.
 */
#ifndef _HOST_IOKIT_IOKITLIB_H
#define _HOST_IOKIT_IOKITLIB_H

#include <stddef.h>
#include <stdint.h>
#include <IOKit/IOReturn.h>
#include <dispatch/dispatch.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t mach_port_t;
typedef mach_port_t io_object_t;
typedef io_object_t io_connect_t;
typedef io_object_t io_service_t;
typedef io_object_t io_iterator_t;
typedef io_object_t io_registry_entry_t;
typedef mach_port_t task_port_t;
typedef uint64_t mach_vm_address_t;
typedef uint64_t mach_vm_size_t;
typedef uint32_t IOOptionBits;
typedef char io_name_t[128];
typedef uint64_t io_user_reference_t;
typedef io_user_reference_t io_async_ref64_t[8];

#define MACH_PORT_NULL ((mach_port_t)0)
#define IO_OBJECT_NULL ((io_object_t)0)
extern const mach_port_t kIOMainPortDefault;
#define kIOMasterPortDefault kIOMainPortDefault
mach_port_t mach_task_self(void);

/* CoreFoundation stand-ins (CFBase.h, CFNumber.h, CFString.h): matching dictionaries, and the keys
 * and numbers of registry properties. */
typedef const void *CFTypeRef;
typedef unsigned long CFTypeID;
typedef signed long CFIndex;
typedef unsigned char Boolean;
typedef const struct __CFAllocator *CFAllocatorRef;
typedef const struct __CFDictionary *CFDictionaryRef;
typedef struct __CFDictionary *CFMutableDictionaryRef;
typedef const struct __CFString *CFStringRef;
typedef const struct __CFNumber *CFNumberRef;
typedef CFIndex CFNumberType;
enum {
    kCFNumberSInt8Type = 1,
    kCFNumberSInt16Type = 2,
    kCFNumberSInt32Type = 3,
    kCFNumberSInt64Type = 4,
};
extern const CFAllocatorRef kCFAllocatorDefault;
void CFRelease(CFTypeRef cf);
CFTypeID CFGetTypeID(CFTypeRef cf);
CFTypeID CFNumberGetTypeID(void);
/* Stores the value converted to theType; false if the conversion lost information. */
Boolean CFNumberGetValue(CFNumberRef number, CFNumberType theType, void *valuePtr);
CFStringRef __CFStringMakeConstantString(const char *cStr);
typedef uint32_t CFStringEncoding;
enum { kCFStringEncodingUTF8 = 0x08000100 };
CFTypeID CFStringGetTypeID(void);
/* Copies the string, NUL-terminated, into buffer; false if it does not fit. */
Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding);
#define CFSTR(cStr) __CFStringMakeConstantString("" cStr "")

enum {
    kIOAsyncReservedIndex = 0,
    kIOAsyncReservedCount,
    kIOAsyncCalloutFuncIndex = kIOAsyncReservedCount,
    kIOAsyncCalloutRefconIndex,
    kIOAsyncCalloutCount,
};
enum { kOSAsyncRef64Count = 8 };

enum {
    kIOMapAnywhere = 0x00000001,
    kIOMapDefaultCache = 0x00000000,
    kIOMapReadOnly = 0x00001000,
};

typedef struct IONotificationPort *IONotificationPortRef;
typedef void (*IOAsyncCallback0)(void *refcon, IOReturn result);
typedef void (*IOAsyncCallback1)(void *refcon, IOReturn result, void *arg0);
typedef void (*IOAsyncCallback2)(void *refcon, IOReturn result, void *arg0, void *arg1);
typedef void (*IOAsyncCallback)(void *refcon, IOReturn result, void **args, uint32_t numArgs);

IONotificationPortRef IONotificationPortCreate(mach_port_t mainPort);
void IONotificationPortDestroy(IONotificationPortRef notify);
mach_port_t IONotificationPortGetMachPort(IONotificationPortRef notify);
void IONotificationPortSetDispatchQueue(IONotificationPortRef notify, dispatch_queue_t queue);

CFMutableDictionaryRef IOServiceMatching(const char *name);
CFMutableDictionaryRef IOServiceNameMatching(const char *name);
kern_return_t IOServiceGetMatchingServices(mach_port_t mainPort, CFDictionaryRef matching,
                                           io_iterator_t *existing);
io_service_t IOServiceGetMatchingService(mach_port_t mainPort, CFDictionaryRef matching);
io_object_t IOIteratorNext(io_iterator_t iterator);
kern_return_t IOObjectRelease(io_object_t object);

/* Matching notifications (IOKitKeys.h): the iterator holds the services of each event; the callback
 * runs on the notification port's dispatch queue and must iterate to see them. */
#define kIOPublishNotification "IOServicePublish"
#define kIOFirstPublishNotification "IOServiceFirstPublish"
#define kIOMatchedNotification "IOServiceMatched"
#define kIOFirstMatchNotification "IOServiceFirstMatch"
#define kIOTerminatedNotification "IOServiceTerminate"
typedef void (*IOServiceMatchingCallback)(void *refcon, io_iterator_t iterator);
kern_return_t IOServiceAddMatchingNotification(IONotificationPortRef notifyPort, const io_name_t notificationType,
                                               CFDictionaryRef matching, IOServiceMatchingCallback callback,
                                               void *refCon, io_iterator_t *notification);

/* The IORegistry (IOKitKeys.h, IOKitLib.h). The host's service plane is the dext's service, its
 * IOUSBHostInterface, then the IOUSBHostDevice; the USB services publish their descriptors' fields
 * (idVendor, idProduct, bcdDevice, bInterfaceNumber, ...) as numbers. */
#define kIOServicePlane "IOService"
enum {
    kIORegistryIterateRecursively = 0x00000001,
    kIORegistryIterateParents = 0x00000002,
};
/* The property of the entry or, with kIORegistryIterateRecursively | kIORegistryIterateParents, of
 * the first of its ancestors that has it; NULL if none. The caller releases it (CFRelease). */
CFTypeRef IORegistryEntrySearchCFProperty(io_registry_entry_t entry, const io_name_t plane, CFStringRef key,
                                          CFAllocatorRef allocator, IOOptionBits options);

kern_return_t IOServiceOpen(io_service_t service, task_port_t owningTask, uint32_t type, io_connect_t *connect);
kern_return_t IOServiceClose(io_connect_t connect);

kern_return_t IOConnectCallMethod(mach_port_t connection, uint32_t selector, const uint64_t *input,
                                  uint32_t inputCnt, const void *inputStruct, size_t inputStructCnt,
                                  uint64_t *output, uint32_t *outputCnt, void *outputStruct,
                                  size_t *outputStructCnt);
kern_return_t IOConnectCallAsyncMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                       uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
                                       uint32_t inputCnt, const void *inputStruct, size_t inputStructCnt,
                                       uint64_t *output, uint32_t *outputCnt, void *outputStruct,
                                       size_t *outputStructCnt);
kern_return_t IOConnectCallStructMethod(mach_port_t connection, uint32_t selector, const void *inputStruct,
                                        size_t inputStructCnt, void *outputStruct, size_t *outputStructCnt);
kern_return_t IOConnectCallAsyncStructMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                             uint64_t *reference, uint32_t referenceCnt,
                                             const void *inputStruct, size_t inputStructCnt,
                                             void *outputStruct, size_t *outputStructCnt);
kern_return_t IOConnectCallScalarMethod(mach_port_t connection, uint32_t selector, const uint64_t *input,
                                        uint32_t inputCnt, uint64_t *output, uint32_t *outputCnt);
kern_return_t IOConnectCallAsyncScalarMethod(mach_port_t connection, uint32_t selector, mach_port_t wake_port,
                                             uint64_t *reference, uint32_t referenceCnt, const uint64_t *input,
                                             uint32_t inputCnt, uint64_t *output, uint32_t *outputCnt);

kern_return_t IOConnectMapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t intoTask,
                                   mach_vm_address_t *atAddress, mach_vm_size_t *ofSize, IOOptionBits options);
kern_return_t IOConnectUnmapMemory64(io_connect_t connect, uint32_t memoryType, task_port_t fromTask,
                                     mach_vm_address_t atAddress);

#ifdef __cplusplus
}
#endif

#endif
