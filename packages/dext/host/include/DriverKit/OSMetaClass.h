/*
 * Host runtime: the DriverKit object model. Apple's OSMetaClassBase has a refcount, a metaclass and
 * a Dispatch entry point that receives IORPC messages; here an IORPC carries the message id and a
 * pointer to the arguments instead of a Mach message, and types are known through C++ RTTI.
 */
#ifndef _DRIVERKIT_OSMETACLASS_H
#define _DRIVERKIT_OSMETACLASS_H

#include <atomic>
#include <DriverKit/IOTypes.h>

class OSMetaClassBase;
class OSObject;

/* A message delivered to Dispatch: msgid selects the method (for an OSAction, the target's
 * method), typeMsgid the signature (for an OSAction, the msgid it was created with). */
struct IORPC {
    uint64_t msgid;
    uint64_t typeMsgid;
    void *arguments;
};

typedef kern_return_t (*OSDispatchMethod)(OSMetaClassBase *self, const IORPC rpc);

/* iig annotations: meaningful to iig only. */
#define KERNEL
#define NATIVE
#define LOCAL
#define LOCALONLY
#define REMOTE
#define LOCALHOST
#define INVOKEREPLY
#define REPLY
#define PORTMAKESEND
#define PORTCOPYSEND
#define TARGET
#define TYPE(p)
#define EXTENDS(cls)
#define QUEUENAME(name)
#define IIG_SERIALIZABLE

#define DEFN(classname, name) name##_Impl(classname##_##name##_Args)
#define IMPL(classname, name) classname ::DEFN(classname, name)
#define SUPERDISPATCH ((OSDispatchMethod) & super::_Dispatch)

#define APPLE_KEXT_OVERRIDE override

class OSMetaClassBase {
public:
    virtual void retain() const;
    virtual void release() const;
    virtual bool isEqualTo(const OSMetaClassBase *anObject) const;
    virtual kern_return_t Dispatch(const IORPC rpc);
    static kern_return_t _Dispatch(OSMetaClassBase *self, const IORPC rpc);

    /* Host only: the live reference count, for tests. */
    int32_t HostRetainCount() const { return refcount.load(); }

protected:
    OSMetaClassBase();
    virtual ~OSMetaClassBase();
    /* Called once the last reference is gone; OSObject routes it to free(). */
    virtual void HostFinalize() const = 0;

private:
    mutable std::atomic<int32_t> refcount;
    OSMetaClassBase(const OSMetaClassBase &) = delete;
    OSMetaClassBase &operator=(const OSMetaClassBase &) = delete;
};

#define OSDynamicCast(type, inst) \
    (dynamic_cast<type *>(const_cast<OSMetaClassBase *>(static_cast<const OSMetaClassBase *>(inst))))
#define OSRequiredCast(type, inst) OSDynamicCast(type, inst)

#define OSSafeReleaseNULL(inst) \
    do {                        \
        if (inst) {             \
            (inst)->release();  \
        }                       \
        (inst) = NULL;          \
    } while (0)

#define OSSafeReleaseNULLIf(inst) OSSafeReleaseNULL(inst)

/* Host only: classes made by iig register a factory so IOService::Create can instantiate them by
 * the IOUserClass name found in the personality, as the DriverKit runtime does. */
typedef OSObject *(*OSClassFactory)(void);
struct OSClassRegistration {
    OSClassRegistration(const char *name, OSClassFactory factory);
    const char *name;
    OSClassFactory factory;
    OSClassRegistration *next;
};
OSObject *OSHostCreateInstance(const char *className);

/* Host only: send rpc to self, through supermethod when given (SUPERDISPATCH). */
kern_return_t OSHostCall(OSMetaClassBase *self, uint64_t msgid, uint64_t typeMsgid, void *arguments,
                         OSDispatchMethod supermethod);

#endif
