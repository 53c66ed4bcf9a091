// Host runtime: IODispatchQueue (dext side) and dispatch_queue_t (client side) on HostSerialQueue.
#include <DriverKit/IODispatchQueue.h>
#include <dispatch/dispatch.h>

#include <Block.h>

#include <cstring>
#include <string>

#include "queue.h"

kern_return_t IODispatchQueue::Create(const IODispatchQueueName name, uint64_t options, uint64_t,
                                      IODispatchQueue **queue)
{
    if (queue == nullptr || (options & ~static_cast<uint64_t>(kIODispatchQueueReentrant)) != 0) {
        return kIOReturnBadArgument;
    }
    IODispatchQueue *created = new IODispatchQueue;
    if (!created->init()) {
        created->release();
        return kIOReturnNoMemory;
    }
    created->queue = new HostSerialQueue((std::string("dext ") + name).c_str());
    *queue = created;
    return kIOReturnSuccess;
}

void IODispatchQueue::DispatchAsync(IODispatchBlock block)
{
    IODispatchBlock copy = Block_copy(block);
    queue->Async([copy] {
        copy();
        Block_release(copy);
    });
}

void IODispatchQueue::DispatchSync(IODispatchBlock block)
{
    queue->Sync([block] { block(); });
}

bool IODispatchQueue::OnQueue()
{
    return queue->OnQueue();
}

kern_return_t IODispatchQueue::Cancel(IODispatchQueueCancelHandler handler)
{
    if (handler != nullptr) {
        DispatchAsync(handler);
    }
    return kIOReturnSuccess;
}

void IODispatchQueue::free()
{
    delete queue;
    queue = nullptr;
    OSObject::free();
}

struct dispatch_queue_s {
    std::atomic<int32_t> refs{1};
    HostSerialQueue queue;
    // The thread is named after the label's last component ("notifications").
    explicit dispatch_queue_s(const char *label)
        : queue(label != nullptr && strrchr(label, '.') != nullptr ? strrchr(label, '.') + 1 : label)
    {
    }
};

dispatch_queue_t dispatch_queue_create(const char *label, dispatch_queue_attr_t)
{
    return new dispatch_queue_s(label);
}

void dispatch_retain(dispatch_queue_t queue)
{
    queue->refs++;
}

void dispatch_release(dispatch_queue_t queue)
{
    if (--queue->refs == 0) {
        delete queue;
    }
}

void dispatch_async_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
    queue->queue.Async([context, work] { work(context); });
}

void dispatch_sync_f(dispatch_queue_t queue, void *context, dispatch_function_t work)
{
    queue->queue.Sync([context, work] { work(context); });
}

void dispatch_async(dispatch_queue_t queue, dispatch_block_t block)
{
    dispatch_block_t copy = Block_copy(block);
    queue->queue.Async([copy] {
        copy();
        Block_release(copy);
    });
}

void dispatch_sync(dispatch_queue_t queue, dispatch_block_t block)
{
    queue->queue.Sync([block] { block(); });
}
