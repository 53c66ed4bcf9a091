// A small test harness: TEST(name) registers a case; CHECK* record failures and go on. main()
// runs every case (or those whose name contains argv[1]) and ends with "N passed, M failed".
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

struct TestCase {
    const char *name;
    void (*run)();
    TestCase(const char *name, void (*run)());
};

void TestFail(const char *file, int line, const std::string &message);
int RunTests(const char *filter);

#define TEST(name)                                        \
    static void test_##name();                            \
    static TestCase testCase_##name(#name, &test_##name); \
    static void test_##name()

#define CHECK(condition)                                 \
    do {                                                 \
        if (!(condition)) {                              \
            TestFail(__FILE__, __LINE__, #condition);    \
        }                                                \
    } while (0)

#define CHECK_EQ(actual, expected)                                                                   \
    do {                                                                                             \
        auto actual_ = (actual);                                                                     \
        auto expected_ = (expected);                                                                 \
        if (!(actual_ == static_cast<decltype(actual_)>(expected_))) {                               \
            char buffer_[256];                                                                       \
            snprintf(buffer_, sizeof(buffer_), "%s == %s: got 0x%llx, expected 0x%llx", #actual,     \
                     #expected, static_cast<unsigned long long>(actual_),                            \
                     static_cast<unsigned long long>(expected_));                                    \
            TestFail(__FILE__, __LINE__, buffer_);                                                   \
        }                                                                                            \
    } while (0)

// Wait up to timeoutMs for predicate to hold.
bool Eventually(const std::function<bool()> &predicate, int timeoutMs = 5000);
