/* Host runtime: OSData. Immutable bytes; both constructors copy, as DriverKit's do. */
#ifndef _DRIVERKIT_OSDATA_H
#define _DRIVERKIT_OSDATA_H

#include <DriverKit/OSObject.h>

class OSData;
typedef OSData *OSDataPtr;

class OSData : public OSObject {
public:
    static OSDataPtr withBytes(const void *bytes, size_t numBytes);
    static OSDataPtr withBytesNoCopy(void *bytes, size_t numBytes);
    static OSDataPtr withCapacity(uint32_t capacity);
    bool appendBytes(const void *bytes, size_t numBytes);
    const void *getBytesNoCopy() const;
    const void *getBytesNoCopy(size_t start, size_t numBytes) const;
    size_t getLength() const;
    bool isEqualTo(const OSMetaClassBase *anObject) const override;

protected:
    void free() override;

private:
    uint8_t *bytes = nullptr;
    size_t length = 0;
    size_t capacity = 0;
};

#endif
