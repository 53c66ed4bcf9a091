/* Host runtime: OSObject. */
#ifndef _DRIVERKIT_OSOBJECT_H
#define _DRIVERKIT_OSOBJECT_H

#include <DriverKit/OSMetaClass.h>

class IODispatchQueue;

class OSObject : public OSMetaClassBase {
public:
    virtual bool init();
    virtual void free();

    /* Host only: the queue that method calls from the kernel and OSAction deliveries run on. */
    IODispatchQueue *HostDefaultQueue() const;
    void HostSetDefaultQueue(IODispatchQueue *queue);

protected:
    OSObject();
    ~OSObject() override;
    void HostFinalize() const final;

private:
    IODispatchQueue *hostDefaultQueue;
    bool hostFreeReached;
};

typedef OSObject *OSObjectPtr;

#endif
