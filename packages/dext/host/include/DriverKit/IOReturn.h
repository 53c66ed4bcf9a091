/* Host runtime: IOReturn codes with Apple's values (xnu iokit/DriverKit/IOReturn.h). Plain C. */
#ifndef _DRIVERKIT_IORETURN_H
#define _DRIVERKIT_IORETURN_H

typedef int kern_return_t;
typedef kern_return_t IOReturn;

#define KERN_SUCCESS 0

#define err_system(x) ((signed)((((unsigned)(x)) & 0x3f) << 26))
#define err_sub(x) (((x) & 0xfff) << 14)
#define sys_iokit err_system(0x38)
#define sub_iokit_common err_sub(0)
#define sub_iokit_usb err_sub(1)
#define iokit_common_err(return) (sys_iokit | sub_iokit_common | (return))
#define iokit_family_err(sub, return) (sys_iokit | (sub) | (return))

#define kIOReturnSuccess KERN_SUCCESS
#define kIOReturnError iokit_common_err(0x2bc)
#define kIOReturnNoMemory iokit_common_err(0x2bd)
#define kIOReturnNoResources iokit_common_err(0x2be)
#define kIOReturnIPCError iokit_common_err(0x2bf)
#define kIOReturnNoDevice iokit_common_err(0x2c0)
#define kIOReturnNotPrivileged iokit_common_err(0x2c1)
#define kIOReturnBadArgument iokit_common_err(0x2c2)
#define kIOReturnExclusiveAccess iokit_common_err(0x2c5)
#define kIOReturnUnsupported iokit_common_err(0x2c7)
#define kIOReturnInternalError iokit_common_err(0x2c9)
#define kIOReturnNotOpen iokit_common_err(0x2cd)
#define kIOReturnBusy iokit_common_err(0x2d5)
#define kIOReturnTimeout iokit_common_err(0x2d6)
#define kIOReturnNotReady iokit_common_err(0x2d8)
#define kIOReturnNotAttached iokit_common_err(0x2d9)
#define kIOReturnNotPermitted iokit_common_err(0x2e2)
#define kIOReturnUnderrun iokit_common_err(0x2e7)
#define kIOReturnOverrun iokit_common_err(0x2e8)
#define kIOReturnNoCompletion iokit_common_err(0x2ea)
#define kIOReturnAborted iokit_common_err(0x2eb)
#define kIOReturnNotFound iokit_common_err(0x2f0)
#define kIOReturnInvalid iokit_common_err(0x1)

#define iokit_usbhost_err(message) iokit_family_err(sub_iokit_usb, (1 << 12) | ((message) & 0xfff))
#define kUSBHostReturnPipeStalled iokit_usbhost_err(0x0)
#define kUSBHostReturnNoPower iokit_usbhost_err(0x1)

#endif
