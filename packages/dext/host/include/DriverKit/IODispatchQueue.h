/* Host runtime: IODispatchQueue, a serial queue served by one thread. */
#ifndef _DRIVERKIT_IODISPATCHQUEUE_H
#define _DRIVERKIT_IODISPATCHQUEUE_H

#include <DriverKit/OSObject.h>

typedef void (^IODispatchBlock)(void);
typedef void (^IODispatchQueueCancelHandler)(void);

enum {
    kIODispatchQueueReentrant = 0x00000001,
};

#define kIOServiceDefaultQueueName "Default"

struct HostSerialQueue;

class IODispatchQueue : public OSObject {
public:
    static kern_return_t Create(const IODispatchQueueName name, uint64_t options, uint64_t priority,
                                IODispatchQueue **queue);
    void DispatchAsync(IODispatchBlock block);
    void DispatchSync(IODispatchBlock block);
    bool OnQueue();
    kern_return_t Cancel(IODispatchQueueCancelHandler handler);

    /* Host only. */
    HostSerialQueue *HostQueue() const { return queue; }

protected:
    void free() override;

private:
    HostSerialQueue *queue = nullptr;
};

#endif
