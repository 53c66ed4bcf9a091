/*
 * dextio host runtime: what tests and the embedded target need beyond Apple's API: live-object
 * counters and the virtual gadget zero's fault injection. Plain C.
 */
#ifndef DEXTIO_HOST_H
#define DEXTIO_HOST_H

#include <stdint.h>
#include <IOKit/IOReturn.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct DextioHostLiveCounts {
    int64_t objects;           /* every OSObject */
    int64_t descriptors;       /* IOMemoryDescriptor and subclasses */
    int64_t actions;           /* OSAction */
    int64_t mappings;          /* IOMemoryMap + client mappings (IOConnectMapMemory64) */
    int64_t clients;           /* IOUserClient */
    int64_t services;          /* IOService, user clients included */
    int64_t queues;            /* dispatch queue threads */
    int64_t connections;       /* open io_connect_t */
    int64_t notificationPorts; /* IONotificationPortRef */
} DextioHostLiveCounts;

void DextioHostGetLiveCounts(DextioHostLiveCounts *counts);

/* Virtual gadget zero, interface 0 (high speed, 512-byte bulk packets):
 *   alternate setting 0: SourceSink bulk 0x81 (IN, pattern) / 0x01 (OUT, checked), and
 *                        Loopback bulk 0x82 (IN) / 0x02 (OUT);
 *   alternate setting 1: SourceSink only.
 * Control: vendor 0x5b (OUT, stores up to 4096 bytes) / 0x5c (IN, reads them back). */
enum {
    kDextioGadgetPatternZeros = 0,
    kDextioGadgetPatternMod63 = 1, /* byte = (offset % maxPacketSize) % 63, the default */
};
void DextioHostGadgetSetPattern(int pattern);
/* Halt the endpoint, as a device STALL: queued and later transfers fail with
 * kUSBHostReturnPipeStalled until ClearStall. */
void DextioHostGadgetInjectStall(uint8_t address);
/* The next count transfers on the endpoint get no answer from the device: they complete only by
 * their timeout or by an abort. */
void DextioHostGadgetInjectTimeout(uint8_t address, uint32_t count);
/* The next IN transfer on the endpoint ends in babble (kIOReturnOverrun). */
void DextioHostGadgetInjectBabble(uint8_t address);
/* How the virtual bus paces transfers. High speed (the default): USB 2.0 bulk timing, at most 13
 * packets of 512 bytes per 125 us microframe shared by the endpoints (53.248 MB/s), completions
 * reported at the end of their microframe. Unthrottled: the device answers at once, so what is
 * measured is the software. The environment variable DEXTIO_GADGET_BUS=unthrottled chooses it at
 * start. */
enum {
    kDextioGadgetBusHighSpeed = 0,
    kDextioGadgetBusUnthrottled = 1,
};
void DextioHostGadgetSetBus(int bus);
int DextioHostGadgetBus(void);
/* The next count control requests get no answer from the device: they complete only by their
 * timeout or by an abort. */
void DextioHostGadgetInjectControlTimeout(uint32_t count);
/* While held, the kernel's terminations of closed connections wait (IOServiceClose has returned;
 * the dext's Stop has not run): a test's view of the window macOS leaves open. */
void DextioHostHoldTerminations(int hold);
/* Unplug: pending transfers complete with kIOReturnNoDevice and the dext is terminated (its user
 * clients first). Returns once the dext has stopped. */
void DextioHostGadgetDisconnect(void);
/* Plug the gadget back in: the dext is matched and started again. */
void DextioHostGadgetConnect(void);

#ifdef __cplusplus
}
#endif

#endif
