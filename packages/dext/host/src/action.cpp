// Host runtime: OSAction. A delivery is queued on the target's default queue and dispatched to the
// target's method (targetmsgid) with the action's signature (msgid), as DriverKit does.
#include <DriverKit/OSAction.h>
#include <DriverKit/IODispatchQueue.h>

#include <Block.h>
#include <cstdlib>
#include <cstring>

#include "internal.h"
#include "queue.h"

kern_return_t OSAction::Create(OSObject *target, uint64_t targetmsgid, uint64_t msgid, size_t referenceSize,
                               OSAction **action)
{
    if (target == nullptr || action == nullptr || target->HostDefaultQueue() == nullptr) {
        return kIOReturnBadArgument;
    }
    OSAction *created = new OSAction;
    created->state = new HostActionState;
    gHostLive.actions++;
    if (!created->init()) {
        created->release();
        return kIOReturnNoMemory;
    }
    if (referenceSize > 0) {
        created->state->reference = calloc(1, referenceSize);
        if (created->state->reference == nullptr) {
            created->release();
            return kIOReturnNoMemory;
        }
    }
    target->retain();
    created->state->target = target;
    created->state->targetmsgid = targetmsgid;
    created->state->msgid = msgid;
    created->state->referenceSize = referenceSize;
    *action = created;
    return kIOReturnSuccess;
}

void *OSAction::GetReference()
{
    return state->reference;
}

kern_return_t OSAction::Cancel(OSActionCancelHandler handler)
{
    if (state->cancelled.exchange(true)) {
        return kIOReturnSuccess;
    }
    // The handler runs on the target's queue after every delivery already queued there. Then the
    // action lets go of its target (OSAction.iig: the target is retained until the action is
    // cancelled or freed), which is what lets an object that owns its actions be freed at all.
    OSActionCancelHandler copy = handler != nullptr ? Block_copy(handler) : static_cast<OSActionCancelHandler>(nullptr);
    retain();
    state->target->HostDefaultQueue()->HostQueue()->Async([this, copy] {
        if (copy != nullptr) {
            copy();
            Block_release(copy);
        }
        OSObject *target = state->target;
        state->target = nullptr;
        OSSafeReleaseNULL(target);
        release();
    });
    return kIOReturnSuccess;
}

bool OSAction::HostDeliver(const void *arguments, size_t size, void (*done)(void *context), void *context)
{
    if (state->cancelled) {
        return false;
    }
    void *copy = malloc(size);
    memcpy(copy, arguments, size);
    retain();
    state->target->HostDefaultQueue()->HostQueue()->Async([this, copy, done, context] {
        IORPC rpc = { state->targetmsgid, state->msgid, copy };
        state->target->Dispatch(rpc);
        ::free(copy);
        if (done != nullptr) {
            done(context);
        }
        release();
    });
    return true;
}

OSObject *OSAction::HostTarget() const
{
    return state->target;
}

uint64_t OSAction::HostMsgID() const
{
    return state->msgid;
}

void OSAction::free()
{
    if (state != nullptr) {
        OSSafeReleaseNULL(state->target);
        ::free(state->reference);
        delete state;
        state = nullptr;
        gHostLive.actions--;
    }
    OSObject::free();
}
