#include "harness.h"

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace {

std::vector<TestCase *> &Cases()
{
    static std::vector<TestCase *> cases;
    return cases;
}

int gFailures = 0;

} // namespace

TestCase::TestCase(const char *caseName, void (*caseRun)()) : name(caseName), run(caseRun)
{
    Cases().push_back(this);
}

void TestFail(const char *file, int line, const std::string &message)
{
    fprintf(stderr, "    %s:%d: %s\n", file, line, message.c_str());
    gFailures++;
}

bool Eventually(const std::function<bool()> &predicate, int timeoutMs)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!predicate()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

int RunTests(const char *filter)
{
    int passed = 0;
    int failed = 0;
    for (TestCase *test : Cases()) {
        if (filter != nullptr && strstr(test->name, filter) == nullptr) {
            continue;
        }
        int before = gFailures;
        auto start = std::chrono::steady_clock::now();
        test->run();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        bool ok = gFailures == before;
        printf("%s %s (%.1f ms)\n", ok ? "ok  " : "FAIL", test->name, ms);
        fflush(stdout);
        (ok ? passed : failed)++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
