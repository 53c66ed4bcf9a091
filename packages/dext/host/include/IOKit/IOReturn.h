/* Host runtime: IOKit.framework's IOReturn.h carries the same codes as DriverKit's. */
#ifndef _HOST_IOKIT_IORETURN_H
#define _HOST_IOKIT_IORETURN_H
#include <DriverKit/IOReturn.h>
#endif
