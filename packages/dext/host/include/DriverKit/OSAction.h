/*
 * Host runtime: OSAction, a completion target. Create() binds a target object, the target's method
 * (targetmsgid) and the signature (msgid); deliveries run on the target's default queue.
 */
#ifndef _DRIVERKIT_OSACTION_H
#define _DRIVERKIT_OSACTION_H

#include <DriverKit/OSObject.h>

typedef void (^OSActionCancelHandler)(void);

#define OSAction_Create_ID 0xaa1fc3ce85ce5497ULL

struct HostActionState;

class OSAction : public OSObject {
public:
    static kern_return_t Create(OSObject *target, uint64_t targetmsgid, uint64_t msgid,
                                size_t referenceSize, OSAction **action);
    void *GetReference();
    kern_return_t Cancel(OSActionCancelHandler handler);

    /* Host only. Deliver arguments (a method's _Msg struct) to the target on its queue; the action
     * and arguments are copied into the delivery; done(context) runs after it. Returns false, and
     * delivers nothing, once the action is cancelled. */
    bool HostDeliver(const void *arguments, size_t size, void (*done)(void *context), void *context);
    OSObject *HostTarget() const;
    uint64_t HostMsgID() const;

protected:
    void free() override;

private:
    HostActionState *state = nullptr;
};

#endif
