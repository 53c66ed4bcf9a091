/*
 * dextio ABI: the contract between the dext (DextioUserClient) and its clients (the native addon,
 * the host runtime's tests). Plain C, no dependencies beyond <stdint.h>; this header is the only
 * place where selectors, memory types, the completion ring and the limits are defined.
 */
#ifndef DEXTIO_ABI_H
#define DEXTIO_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change; reported by kDextioSelectorGetDeviceInfo. */
#define DEXTIO_ABI_VERSION 4u

/* ---- Limits ---------------------------------------------------------------------------------- */

enum {
    /* Bytes in one mapped slot; also the largest structure IOKit passes by value. Transfers of
     * more than this many bytes take the descriptor path. */
    kDextioSlotCapacity = 4096,
    /* Slots per pipe: the most transfers of the mapped path a pipe can have in flight. 32 keeps
     * a high-speed bus busy with 512-byte transfers across a client's round trip. */
    kDextioSlotsPerPipe = 32,
    /* Pipes are named by endpoint address; numbers 1..15 in each direction. */
    kDextioMaxPipes = 30,
    /* Descriptor-path transfers in flight per client, over all pipes. */
    kDextioMaxDescriptorTransfers = 128,
    /* Largest descriptor-path transfer (AsyncIO takes a uint32_t length; keep well below). */
    kDextioMaxDescriptorLength = 64 * 1024 * 1024,
    /* Largest control transfer data stage (wLength is 16 bits). Like a transfer, it travels by
     * value up to kDextioSlotCapacity bytes and as the structure descriptor above, which the dext
     * hands to AsyncDeviceRequest without a copy. */
    kDextioMaxControlLength = 65535,
    /* A control request always ends: a timeout of 0 means this default, and none may exceed the
     * maximum (USB 2.0 9.2.6.4 gives devices 5 s for a data stage). */
    kDextioControlTimeoutDefaultMs = 5000,
    kDextioControlTimeoutMaxMs = 30000,
    /* Completion ring entries: >= every transfer that can be in flight at once
     * (kDextioMaxPipes * kDextioSlotsPerPipe + kDextioMaxDescriptorTransfers), power of two. */
    kDextioCompletionRingCapacity = 2048,
    /* Submission ring entries (the mapped path's submissions), power of two. */
    kDextioSubmissionRingCapacity = 1024,
    /* Largest descriptor GetDescriptor returns (a configuration's wTotalLength is 16 bits). */
    kDextioMaxDescriptorSize = 65535,
};

/* ---- Selectors (IOConnectCallMethod / IOConnectCallAsyncMethod) ------------------------------ */

typedef enum DextioSelector {
    /* out: scalars DextioDeviceInfoScalar */
    kDextioSelectorGetDeviceInfo = 0,
    /* out: structure, an array of DextioPipeInfo (<= kDextioMaxPipes entries); scalar[0] = count */
    kDextioSelectorGetPipes = 1,
    /* no arguments: take what the submission ring holds (see DextioSubmissionRing).
     * kIOReturnNotReady before kDextioSelectorRegisterNotification. */
    kDextioSelectorKick = 2,
    /* in: scalars DextioSubmitDescriptorScalar and, for an OUT pipe, a structure input of more
     * than kDextioSlotCapacity bytes (arrives as structureInputDescriptor) or, for an IN pipe, a
     * structure output of more than kDextioSlotCapacity bytes (structureOutputDescriptor). The
     * dext holds the descriptor until the transfer's completion is in the ring. */
    kDextioSelectorSubmitDescriptor = 3,
    /* async; in: scalars DextioControlScalar; a structure output of at least wLength bytes only
     * when wLength > kDextioSlotCapacity (the data stage lands in it), else none: the data stage
     * lands in the control buffer (kDextioMemoryKindControl). Completion: AsyncCompletion on the
     * call's own action, status = the request's IOReturn, asyncData[0] = bytes transferred. One
     * control request in flight per connection (kIOReturnBusy otherwise). */
    kDextioSelectorControlIn = 4,
    /* async; in: scalars DextioControlScalar + a structure input of exactly wLength bytes (the data
     * stage, may be empty: by value up to kDextioSlotCapacity, else structureInputDescriptor).
     * Completion as for kDextioSelectorControlIn. */
    kDextioSelectorControlOut = 5,
    /* in: scalar[0] = pipe. In-flight transfers complete with kIOReturnAborted. */
    kDextioSelectorAbortPipe = 6,
    /* in: scalar[0] = pipe. Clears the halt on the device and the data toggle on the host. */
    kDextioSelectorClearStall = 7,
    /* in: scalar[0] = bAlternateSetting. Refused with kIOReturnBusy while transfers are in flight. */
    kDextioSelectorSelectAltSetting = 8,
    /* async, no arguments: the call's action becomes the connection's notification target
     * (doorbells and the stopped notice, see DextioNotification); a later call replaces it. */
    kDextioSelectorRegisterNotification = 9,
    /* in: scalars DextioGetDescriptorScalar; out: structure, the descriptor (by value up to
     * kDextioSlotCapacity, else structureOutputDescriptor), at most its size;
     * scalar[0] = the descriptor's whole length (wTotalLength for a configuration), so a client
     * whose buffer was too small can ask again with a larger one. */
    kDextioSelectorGetDescriptor = 10,
    kDextioSelectorCount
} DextioSelector;

enum { kDextioSpeedUnknown = 0xff };

/* Scalar layouts, as indices into the scalar arrays. */
typedef enum DextioDeviceInfoScalar {
    kDextioDeviceInfoAbiVersion = 0,
    kDextioDeviceInfoVendorID,
    kDextioDeviceInfoProductID,
    kDextioDeviceInfoDeviceRelease,   /* bcdDevice */
    kDextioDeviceInfoInterfaceNumber, /* the interface the dext drives */
    kDextioDeviceInfoAltSetting,
    kDextioDeviceInfoPipeCount,
    kDextioDeviceInfoSpeed,           /* 0 low, 1 full, 2 high, 3 super, 4 super+ (IOKit's kUSBHostConnectionSpeed*),
                                         kDextioSpeedUnknown without pipes */
    kDextioDeviceInfoConfigurationValue, /* bConfigurationValue of the configuration the interface is in */
    kDextioDeviceInfoScalarCount
} DextioDeviceInfoScalar;

typedef enum DextioSubmitDescriptorScalar {
    kDextioSubmitDescriptorPipe = 0,
    kDextioSubmitDescriptorLength,    /* must equal the structure's size */
    kDextioSubmitDescriptorTimeoutMs,
    kDextioSubmitDescriptorTag,       /* unique among transfers in flight, whatever their path */
    kDextioSubmitDescriptorScalarCount
} DextioSubmitDescriptorScalar;

typedef enum DextioControlScalar {
    kDextioControlRequestType = 0,    /* bmRequestType; its direction bit must match the selector */
    kDextioControlRequest,            /* bRequest */
    kDextioControlValue,              /* wValue */
    kDextioControlIndex,              /* wIndex */
    kDextioControlLength,             /* wLength, 0 .. kDextioMaxControlLength; it, not the structure,
                                         decides the path: a descriptor for more than
                                         kDextioSlotCapacity bytes, the control buffer otherwise */
    kDextioControlTimeoutMs,          /* 0 = kDextioControlTimeoutDefaultMs; at most kDextioControlTimeoutMaxMs */
    kDextioControlScalarCount
} DextioControlScalar;

typedef enum DextioDescriptorKind {
    kDextioDescriptorDevice = 1,      /* the device descriptor (index 0) */
    kDextioDescriptorConfiguration = 2, /* configuration descriptor number `index`, whole */
} DextioDescriptorKind;

typedef enum DextioGetDescriptorScalar {
    kDextioGetDescriptorKind = 0,     /* DextioDescriptorKind */
    kDextioGetDescriptorIndex,        /* 0 for the device; 0 .. bNumConfigurations - 1 */
    kDextioGetDescriptorScalarCount
} DextioGetDescriptorScalar;

/* One entry of kDextioSelectorGetPipes' output. */
typedef struct DextioPipeInfo {
    uint8_t address;                  /* bEndpointAddress: the pipe's name everywhere in the ABI */
    uint8_t type;                     /* bmAttributes & 3: 1 isochronous, 2 bulk, 3 interrupt */
    uint8_t interval;                 /* bInterval */
    uint8_t reserved;
    uint16_t maxPacketSize;
    uint16_t slotCount;               /* kDextioSlotsPerPipe, or 0 for pipes the dext cannot drive */
} DextioPipeInfo;

/* ---- Notifications (AsyncCompletion to the registered action) -------------------------------- */

/* asyncData[0] of a notification; asyncData[1] = the ring's producerIndex when it was sent. */
typedef enum DextioNotification {
    /* The ring went from empty to non-empty: drain it. */
    kDextioNotificationDoorbell = 1,
    /* The dext has stopped this connection (after IOServiceClose, or the device went away): every
     * transfer and control request of it has completed, the dext holds none of the client's
     * memory any more, and the device may be opened again. The last message of a connection. */
    kDextioNotificationStopped = 2,
} DextioNotification;
enum { kDextioNotificationArgumentCount = 2 };
/* asyncData of a control request's completion: [0] = bytes transferred. */
enum { kDextioControlCompletionArgumentCount = 1 };

/* ---- Memory types (IOConnectMapMemory64 -> CopyClientMemoryForType) ------------------------- */

/* type = kind << 24 | pipe << 8 | slot. The dext returns the same descriptor for the same type for
 * the life of a connection. Slots of both directions are mapped read-write: the dext never reads an
 * IN slot, so a stray write into one only spoils bytes the next IN transfer overwrites. The
 * completion ring and the control buffer are mapped read-only: the dext writes them, and nothing a
 * client writes can reach the dext through them. The consumer page is the one field the client
 * owns. */
typedef enum DextioMemoryKind {
    kDextioMemoryKindSlot = 1,
    kDextioMemoryKindCompletionRing = 2,      /* DextioCompletionRing, read-only */
    kDextioMemoryKindCompletionConsumer = 3,  /* DextioCompletionConsumer, read-write */
    kDextioMemoryKindControl = 4,             /* kDextioSlotCapacity bytes, read-only: IN data stages */
    kDextioMemoryKindSubmissionRing = 5,      /* DextioSubmissionRing, read-write */
} DextioMemoryKind;

static inline uint32_t DextioMemoryTypeSlot(uint8_t pipe, uint8_t slot)
{
    return ((uint32_t)kDextioMemoryKindSlot << 24) | ((uint32_t)pipe << 8) | slot;
}
static inline uint32_t DextioMemoryTypeCompletionRing(void)
{
    return (uint32_t)kDextioMemoryKindCompletionRing << 24;
}
static inline uint32_t DextioMemoryTypeCompletionConsumer(void)
{
    return (uint32_t)kDextioMemoryKindCompletionConsumer << 24;
}
static inline uint32_t DextioMemoryTypeControl(void)
{
    return (uint32_t)kDextioMemoryKindControl << 24;
}
static inline uint32_t DextioMemoryTypeSubmissionRing(void)
{
    return (uint32_t)kDextioMemoryKindSubmissionRing << 24;
}
static inline uint32_t DextioMemoryTypeKind(uint64_t type) { return (uint32_t)((type >> 24) & 0xff); }
static inline uint8_t DextioMemoryTypePipe(uint64_t type) { return (uint8_t)((type >> 8) & 0xff); }
static inline uint8_t DextioMemoryTypeSlotIndex(uint64_t type) { return (uint8_t)(type & 0xff); }

/* ---- Completion ring ------------------------------------------------------------------------- */

/*
 * The dext writes one DextioCompletion per finished transfer (both paths) and then publishes it by
 * advancing producerIndex. The client reads entries from its consumerIndex up to producerIndex and
 * publishes its progress in consumerIndex, which lives on a page of its own
 * (DextioCompletionConsumer). Indices run freely (mod 2^32); entry i lives at entries[i % capacity].
 * The dext keeps its own producer index and counters and only ever stores them here: it never reads
 * back anything from the ring, and it checks the consumer index before using it.
 *
 * Doorbell: the dext sends kDextioNotificationDoorbell (one IPC message) only when its entry found
 * the ring empty (consumerIndex == the producerIndex before the entry) and the client is not
 * polling. So a client must, after storing consumerIndex, load producerIndex again and keep
 * draining if it moved: DextioCompletionRingDrain does exactly that. Both sides use sequentially
 * consistent stores and loads of the indices, so a completion is never left in the ring without a
 * doorbell.
 *
 * Polling: a client that expects completions within microseconds (it has just handed the dext
 * work) may watch producerIndex itself instead of sleeping until a doorbell. It sets `polling` in
 * its consumer page first; while that is nonzero the dext rings no doorbell. To stop, it clears
 * `polling` (sequentially consistent) and then loads producerIndex once more, draining what it
 * finds: an entry the dext wrote while it still saw `polling` set is found by that load.
 */
typedef struct DextioCompletion {
    uint64_t tag;                     /* the submission's tag */
    int32_t status;                   /* IOReturn: kIOReturnSuccess, kIOReturnAborted, stall... */
    uint32_t bytes;                   /* bytes actually moved */
    uint64_t timestamp;               /* completionTimestamp of CompleteAsyncIO: mach absolute time
                                         ticks (mach_timebase_info converts them to nanoseconds) */
} DextioCompletion;

typedef struct DextioCompletionRingHeader {
    uint32_t producerIndex;           /* published by the dext */
    uint32_t capacity;                /* entries; kDextioCompletionRingCapacity */
    uint32_t doorbellCount;           /* doorbells sent so far */
    uint32_t submissionConsumerIndex; /* submission ring entries the dext has taken */
    uint64_t completionCount;         /* entries written so far */
    uint32_t kickCount;               /* kicks received so far */
    uint8_t reserved[36];
} DextioCompletionRingHeader;

typedef struct DextioCompletionRing {
    DextioCompletionRingHeader header;
    DextioCompletion entries[kDextioCompletionRingCapacity];
} DextioCompletionRing;

typedef struct DextioCompletionConsumer {
    uint32_t consumerIndex;           /* written by the client */
    uint32_t polling;                 /* nonzero while the client polls the ring: no doorbells */
    uint8_t reserved[56];
} DextioCompletionConsumer;

/* Bytes the dext allocates for the ring and for the consumer page (whole 16 KiB pages). */
#define DEXTIO_COMPLETION_RING_SIZE \
    ((sizeof(DextioCompletionRing) + 16383u) & ~(uint64_t)16383u)
#define DEXTIO_COMPLETION_CONSUMER_SIZE 16384u

/* ---- Submission ring (mapped path) ---------------------------------------------------------- */

/*
 * The client writes one DextioSubmission per mapped-path transfer at entries[producerIndex %
 * capacity] and publishes it by advancing producerIndex; the dext takes entries up to it, copies
 * each once into its own memory, checks it (a refused entry completes at once in the completion
 * ring, with its tag and the IOReturn) and publishes how far it got in the completion ring header's
 * submissionConsumerIndex.
 *
 * The dext takes entries whenever it runs for the connection: on a kick (kDextioSelectorKick, one
 * IPC message) and after every completion. So a client queues what it has for now, then flushes:
 * if the dext has not taken every entry yet (DextioSubmissionRingPending), it kicks. While transfers
 * complete, the dext usually takes new entries before the flush looks, and no kick is needed; an
 * entry is never left waiting, because the flush after it either sees it taken or kicks.
 */
typedef struct DextioSubmission {
    uint64_t tag;                     /* echoed in the completion; unique among transfers in flight */
    uint32_t length;                  /* 0 .. kDextioSlotCapacity */
    uint32_t timeoutMs;               /* 0 = none (required for interrupt pipes) */
    uint8_t pipe;                     /* endpoint address, e.g. 0x81 */
    uint8_t slot;                     /* 0 .. kDextioSlotsPerPipe - 1 */
    uint8_t reserved[6];
} DextioSubmission;

typedef struct DextioSubmissionRing {
    uint32_t producerIndex;           /* written by the client */
    uint8_t reserved[60];
    DextioSubmission entries[kDextioSubmissionRingCapacity];
} DextioSubmissionRing;

#define DEXTIO_SUBMISSION_RING_SIZE \
    ((sizeof(DextioSubmissionRing) + 16383u) & ~(uint64_t)16383u)

/* Client side: queue one submission; 0 (nothing queued) when the ring is full. The ring has one
 * producer: a client that submits from several threads makes them take turns. */
static inline int DextioSubmissionRingPush(DextioSubmissionRing *submissions, const DextioCompletionRing *completions,
                                           const DextioSubmission *entry)
{
    uint32_t producer = __atomic_load_n(&submissions->producerIndex, __ATOMIC_RELAXED);
    uint32_t taken = __atomic_load_n(&completions->header.submissionConsumerIndex, __ATOMIC_ACQUIRE);
    if (producer - taken >= kDextioSubmissionRingCapacity) {
        return 0;
    }
    submissions->entries[producer % kDextioSubmissionRingCapacity] = *entry;
    __atomic_store_n(&submissions->producerIndex, producer + 1, __ATOMIC_SEQ_CST);
    return 1;
}

/* Client side: whether queued entries wait for the dext (then the flush kicks). */
static inline int DextioSubmissionRingPending(const DextioSubmissionRing *submissions,
                                              const DextioCompletionRing *completions)
{
    return __atomic_load_n(&submissions->producerIndex, __ATOMIC_SEQ_CST) !=
           __atomic_load_n(&completions->header.submissionConsumerIndex, __ATOMIC_SEQ_CST);
}

typedef void (*DextioCompletionHandler)(void *context, const DextioCompletion *completion);

/* Client side: hand every published completion to handler, then publish the progress; returns the
 * number of completions handled. Call it on every doorbell (and whenever convenient). */
static inline uint32_t DextioCompletionRingDrain(const DextioCompletionRing *ring, DextioCompletionConsumer *consumer,
                                                 DextioCompletionHandler handler, void *context)
{
    uint32_t handled = 0;
    uint32_t next = __atomic_load_n(&consumer->consumerIndex, __ATOMIC_RELAXED);
    uint32_t capacity = ring->header.capacity;
    if (capacity == 0 || capacity > kDextioCompletionRingCapacity) {
        return 0;
    }
    for (;;) {
        uint32_t producer = __atomic_load_n(&ring->header.producerIndex, __ATOMIC_SEQ_CST);
        if (producer == next) {
            return handled;
        }
        while (next != producer) {
            handler(context, &ring->entries[next % capacity]);
            next++;
            handled++;
        }
        __atomic_store_n(&consumer->consumerIndex, next, __ATOMIC_SEQ_CST);
    }
}

#ifdef __cplusplus
}
#endif

#endif /* DEXTIO_ABI_H */
