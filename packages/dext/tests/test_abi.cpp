// The ABI header's encodings and layouts, and the personality the host runtime matches.
#include <dextio/abi.h>

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>

#include "harness.h"

TEST(abi_memory_type_round_trip)
{
    uint32_t type = DextioMemoryTypeSlot(0x81, 15);
    CHECK_EQ(type, 0x0100810fu);
    CHECK_EQ(DextioMemoryTypeKind(type), kDextioMemoryKindSlot);
    CHECK_EQ(DextioMemoryTypePipe(type), 0x81);
    CHECK_EQ(DextioMemoryTypeSlotIndex(type), 15);
    CHECK_EQ(DextioMemoryTypeKind(DextioMemoryTypeCompletionRing()), kDextioMemoryKindCompletionRing);
    CHECK_EQ(DextioMemoryTypeKind(DextioMemoryTypeCompletionConsumer()), kDextioMemoryKindCompletionConsumer);
    CHECK_EQ(DextioMemoryTypeKind(DextioMemoryTypeControl()), kDextioMemoryKindControl);
}

TEST(abi_completion_ring_layout)
{
    CHECK_EQ(sizeof(DextioCompletion), 24u);
    CHECK_EQ(offsetof(DextioCompletion, status), 8u);
    CHECK_EQ(offsetof(DextioCompletion, bytes), 12u);
    CHECK_EQ(offsetof(DextioCompletion, timestamp), 16u);
    CHECK_EQ(sizeof(DextioCompletionRingHeader), 64u);
    CHECK_EQ(offsetof(DextioCompletionRingHeader, producerIndex), 0u);
    CHECK_EQ(offsetof(DextioCompletionRingHeader, completionCount), 16u);
    CHECK_EQ(offsetof(DextioCompletionRing, entries), 64u);
    CHECK(DEXTIO_COMPLETION_RING_SIZE >= sizeof(DextioCompletionRing));
    // The consumer index is alone on its page, apart from everything the dext writes.
    CHECK_EQ(sizeof(DextioCompletionConsumer), 64u);
    CHECK_EQ(offsetof(DextioCompletionConsumer, polling), 4u);
    CHECK(DEXTIO_COMPLETION_CONSUMER_SIZE >= sizeof(DextioCompletionConsumer));
    // Every transfer that can be in flight has an entry.
    CHECK(kDextioCompletionRingCapacity >= kDextioMaxPipes * kDextioSlotsPerPipe + kDextioMaxDescriptorTransfers);
    CHECK((kDextioCompletionRingCapacity & (kDextioCompletionRingCapacity - 1)) == 0);
    CHECK_EQ(sizeof(DextioPipeInfo), 8u);
    // The submission ring: 24-byte entries after a 64-byte header the client writes.
    CHECK_EQ(sizeof(DextioSubmission), 24u);
    CHECK_EQ(offsetof(DextioSubmission, length), 8u);
    CHECK_EQ(offsetof(DextioSubmission, pipe), 16u);
    CHECK_EQ(offsetof(DextioSubmissionRing, entries), 64u);
    CHECK(DEXTIO_SUBMISSION_RING_SIZE >= sizeof(DextioSubmissionRing));
    CHECK((kDextioSubmissionRingCapacity & (kDextioSubmissionRingCapacity - 1)) == 0);
    CHECK_EQ(offsetof(DextioCompletionRingHeader, submissionConsumerIndex), 12u);
}

TEST(abi_submission_ring_push_and_pending)
{
    static DextioSubmissionRing submissions;
    static DextioCompletionRing completions;
    DextioSubmission entry = {};
    entry.tag = 7;
    submissions.producerIndex = UINT32_MAX;  // indices wrap
    completions.header.submissionConsumerIndex = UINT32_MAX;
    CHECK(!DextioSubmissionRingPending(&submissions, &completions));
    CHECK_EQ(DextioSubmissionRingPush(&submissions, &completions, &entry), 1);
    CHECK_EQ(submissions.producerIndex, 0u);
    CHECK_EQ(submissions.entries[(UINT32_MAX) % kDextioSubmissionRingCapacity].tag, 7u);
    CHECK(DextioSubmissionRingPending(&submissions, &completions));
    // Full: nothing is queued over entries the dext has not taken.
    completions.header.submissionConsumerIndex = submissions.producerIndex - kDextioSubmissionRingCapacity;
    CHECK_EQ(DextioSubmissionRingPush(&submissions, &completions, &entry), 0);
    CHECK_EQ(submissions.producerIndex, 0u);
}

namespace {
void CountCompletion(void *context, const DextioCompletion *)
{
    (*static_cast<int *>(context))++;
}
} // namespace

TEST(abi_ring_drain_publishes_consumer_index)
{
    static DextioCompletionRing ring;
    static DextioCompletionConsumer consumer;
    ring.header.capacity = kDextioCompletionRingCapacity;
    consumer.consumerIndex = UINT32_MAX - 1;  // indices wrap
    ring.header.producerIndex = 2;
    int handled = 0;
    CHECK_EQ(DextioCompletionRingDrain(&ring, &consumer, &CountCompletion, &handled), 4u);
    CHECK_EQ(handled, 4);
    CHECK_EQ(consumer.consumerIndex, 2u);
    ring.header.capacity = 0;  // a corrupt header is not followed
    CHECK_EQ(DextioCompletionRingDrain(&ring, &consumer, &CountCompletion, &handled), 0u);
}

TEST(abi_info_plist_matches_host_personality)
{
    std::ifstream file(DEXTIO_INFO_PLIST);
    std::stringstream text;
    text << file.rdbuf();
    std::string plist = text.str();
    CHECK(!plist.empty());
    for (const char *expected :
         { "<string>DextioDriver</string>", "<string>DextioUserClient</string>", "<integer>1317</integer>",
           "<integer>42144</integer>", "<string>IOUSBHostInterface</string>", "<key>UserClientProperties</key>",
           "<key>bInterfaceNumber</key>", "<key>bConfigurationValue</key>" }) {
        if (plist.find(expected) == std::string::npos) {
            TestFail(__FILE__, __LINE__, std::string("Info.plist lacks ") + expected);
        }
    }
}
