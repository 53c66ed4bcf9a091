/* Host runtime: umbrella header. */
#ifndef _DRIVERKIT_DRIVERKIT_H
#define _DRIVERKIT_DRIVERKIT_H

#include <DriverKit/IOTypes.h>
#include <DriverKit/IOReturn.h>
#include <DriverKit/IOLib.h>
#include <DriverKit/OSObject.h>
#include <DriverKit/OSData.h>
#include <DriverKit/OSAction.h>
#include <DriverKit/IODispatchQueue.h>
#include <DriverKit/IOMemoryDescriptor.h>
#include <DriverKit/IOBufferMemoryDescriptor.h>
#include <DriverKit/IOMemoryMap.h>
#include <DriverKit/IOService.h>
#include <DriverKit/IOUserClient.h>

#endif
